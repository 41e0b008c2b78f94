-- The guide's batch scenario: many concurrent, all-different requests to POST /api/v1/unstructured.
--   wrk -t8 -c50 -d60s --latency -H "X-API-Key: ${API_KEY}" -H "Content-Type: application/json" \
--     -s load/batch_test.lua http://localhost:8000/api/v1/unstructured
--
-- Every request differs: the prompt holds this run's id, the thread id and a per-thread counter, and the
-- model, topic, task, max_tokens, temperature and system prompt rotate at different periods. Non-2xx answers
-- are counted per status in response() and added up across threads in done() (see wrk/lib/report.lua).
-- WRK_MODELS (comma-separated) replaces the model list; load/performance_test.sh passes the ids that
-- GET /api/v1/models reports as available.
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "./"
dofile(dir .. "wrk/lib/load.lua")
dofile(dir .. "wrk/lib/report.lua")

-- The guide's ids first, then current ones of each provider.
local models = llmq_split_list(os.getenv("WRK_MODELS")) or {
  "gpt-3.5-turbo", "gpt-4", "claude-2", "llama3-8b-8192",
  "gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant",
}

local tasks = {
  "Write a short product description for %s.",
  "Summarise the main benefits of %s in three sentences.",
  "Explain %s to a ten-year-old.",
  "List five questions a customer might ask about %s.",
  "Write a haiku about %s.",
  "Give one argument for and one against %s.",
  "Draft a two-line release note about %s.",
}
local topics = {
  "a smartphone", "a solar-powered backpack", "noise-cancelling headphones", "an electric bicycle",
  "a smart thermostat", "a mechanical keyboard", "a reusable water bottle", "a home espresso machine",
  "a fitness tracker", "a robot vacuum", "a standing desk",
}
local systems = {
  false,
  "You are a concise copywriter.",
  "You are a helpful assistant. Answer in plain English.",
}
local max_tokens = { 64, 128, 200, 300, 500 }

local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local function pick(list, n)
  return list[n % #list + 1]
end

function request()
  counter = counter + 1
  local n = counter + llmq_thread_id * 7
  local topic = pick(topics, n)
  local prompt = string.format(pick(tasks, n * 3 + 1), topic) ..
    string.format(" (request %d from thread %d, run %s)", counter, llmq_thread_id, llmq_run_id)
  local fields = {
    '"model":' .. llmq_json_string(pick(models, n)),
    '"max_tokens":' .. pick(max_tokens, math.floor(n / 2)),
    string.format('"temperature":%.1f', (n % 11) / 10),
  }
  local system = pick(systems, n * 2)
  if n % 4 == 0 then
    -- Same route, the messages form instead of prompt.
    local msgs = '[{"role":"user","content":' .. llmq_json_string(prompt) .. '}]'
    if system then
      msgs = '[{"role":"system","content":' .. llmq_json_string(system) .. '},{"role":"user","content":' ..
        llmq_json_string(prompt) .. '}]'
    end
    table.insert(fields, '"messages":' .. msgs)
  else
    table.insert(fields, '"prompt":' .. llmq_json_string(prompt))
    if system then table.insert(fields, '"system":' .. llmq_json_string(system)) end
  end
  return wrk.format(nil, nil, nil, "{" .. table.concat(fields, ",") .. "}")
end
