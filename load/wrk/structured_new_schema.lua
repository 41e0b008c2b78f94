-- POST /api/v1/structured where every request carries a schema never seen before, as the guide says of the
-- structured endpoint ("each call ... requires a new schema"): the property names hold the thread id and a
-- per-thread counter, so no schema cache (validator compile, provider-side) can help.
--   wrk -t4 -c10 -d30s --latency -H "X-API-Key: $API_KEY" -s load/wrk/structured_new_schema.lua \
--     $BASE_URL/api/v1/structured
-- WRK_MODELS (comma-separated) overrides the models the requests rotate over.
-- WRK_SCHEMA_TAG (letters, digits, _) puts that tag in the property names instead, so every request carries the
-- same schema (one a client repeats); the prompt still holds the per-request tag, so no two requests are the
-- same and llmq's result cache answers none of them. `npm run bench` measures both.
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "./"
dofile(dir .. "lib/load.lua")
dofile(dir .. "lib/report.lua")

local models = llmq_split_list(os.getenv("WRK_MODELS")) or { "gpt-3.5-turbo", "gpt-4", "claude-2", "llama3-8b-8192" }
local schema_tag = os.getenv("WRK_SCHEMA_TAG")
if schema_tag == "" then schema_tag = nil end
if schema_tag ~= nil and not schema_tag:match("^[%w_]+$") then
  -- error() here would only be printed: wrk would go on sending its default GET. Stop it instead.
  io.stderr:write("structured_new_schema.lua: WRK_SCHEMA_TAG takes letters, digits and _ only\n")
  os.exit(2)
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local tag = string.format("%s_t%d_r%d", llmq_run_id, llmq_thread_id, counter)
  local model = models[(counter + llmq_thread_id) % #models + 1]
  local names = schema_tag or tag
  local body = string.format(
    '{"model":%s,"prompt":%s,"max_tokens":200,"schema":{"type":"object","properties":{' ..
      '"name_%s":{"type":"string"},"age_%s":{"type":"integer","minimum":0,"maximum":130},' ..
      '"tags_%s":{"type":"array","items":{"type":"string"},"maxItems":3},' ..
      '"address_%s":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string"}},"required":["city"]}},' ..
      '"required":["name_%s","age_%s"]}}',
    llmq_json_string(model),
    llmq_json_string("Generate user record " .. tag .. " with a name, an age, up to three tags and an address"),
    names, names, names, names, names, names)
  return wrk.format("POST", nil, nil, body)
end
