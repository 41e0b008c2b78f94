-- GET scenarios (health, models): counts every status and prints p95 and the LLMQ_RESULT line.
--   wrk -t4 -c10 -d30s --latency -H "X-API-Key: $API_KEY" -s load/wrk/get.lua $BASE_URL/api/v1/health
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "./"
dofile(dir .. "lib/report.lua")
