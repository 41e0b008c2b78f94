-- POST one fixed JSON body, read once from the file named by WRK_BODY_FILE.
--   WRK_BODY_FILE=body.json wrk -t4 -c10 -d30s --latency -H "X-API-Key: $API_KEY" \
--     -s load/wrk/post_json.lua $BASE_URL/api/v1/structured
-- The request is built once and reused, which keeps wrk's own cost per request at its lowest.
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "./"
dofile(dir .. "lib/load.lua")
dofile(dir .. "lib/report.lua")

local body_file = os.getenv("WRK_BODY_FILE")
if body_file == nil or body_file == "" then
  error("post_json.lua: set WRK_BODY_FILE to the JSON body to send")
end

wrk.method = "POST"
wrk.body = llmq_read_file(body_file)
wrk.headers["Content-Type"] = "application/json"
