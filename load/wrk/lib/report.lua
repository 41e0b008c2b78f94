-- Shared by every llmq wrk script (loaded with dofile from the script's own directory).
--
-- wrk runs each thread in its own Lua state, so counters kept in response() live in that thread only.
-- The documented way to add them up: setup(thread) keeps every thread object in the main state, and
-- done() reads each thread's counters back with thread:get(). Defining response() makes wrk hand every
-- response to Lua, which costs a little throughput; the per-status counts are worth it.
--
-- done() prints the human summary and ONE machine-readable line, read by load/performance_test.sh and
-- load/src/bench.ts:
--   LLMQ_RESULT {"requests":…,"rps":…,"avg_ms":…,"p50_ms":…,"p95_ms":…,"p99_ms":…,"max_ms":…,
--                "non2xx":…,"socket_errors":…,"errors":…,"statuses":{"200":…}}
-- With WRK_STEADY_AFTER_S=N the line also carries "steady_rps" and "steady_s": answers per second counted in
-- whole wall-clock seconds from N s after the start to the last whole second (the first N s, while a large
-- number of connections is still filling the pipeline, and the partial last second are left out).

local report = {}

local threads = {}
local next_thread_id = 0

-- A token unique to this wrk run, so that scripts building "never seen before" requests stay unique across
-- runs too (the counters restart at 1 in every run).
local function new_run_id()
  local f = io.open("/proc/sys/kernel/random/uuid", "r")
  if f then
    local uuid = f:read("*l")
    f:close()
    if uuid then return (uuid:gsub("-", ""):sub(1, 12)) end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  return string.format("%x%06x", os.time(), math.random(0, 0xffffff))
end
local run_id = new_run_id()

local steady_after = tonumber(os.getenv("WRK_STEADY_AFTER_S") or "")
local started_at = os.time()

-- Per-thread state (each thread's Lua state has its own copy of these globals).
llmq_status_counts = {}
-- Answers per wall-clock second (os.time()), kept only when WRK_STEADY_AFTER_S is set.
llmq_second_counts = {}
llmq_thread_id = 0
llmq_run_id = run_id

function report.setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("llmq_thread_id", next_thread_id)
  thread:set("llmq_run_id", run_id)
  table.insert(threads, thread)
end

function report.count(status)
  llmq_status_counts[status] = (llmq_status_counts[status] or 0) + 1
  if steady_after ~= nil then
    local sec = os.time()
    llmq_second_counts[sec] = (llmq_second_counts[sec] or 0) + 1
  end
end

-- Answers per second over the whole seconds after the warm-up, and how many seconds that is (nil when unset).
local function steady()
  if steady_after == nil then return nil end
  local per_second = {}
  for _, thread in ipairs(threads) do
    for sec, n in pairs(thread:get("llmq_second_counts") or {}) do per_second[sec] = (per_second[sec] or 0) + n end
  end
  local first, last = started_at + math.ceil(steady_after) + 1, os.time() - 1
  local total, seconds = 0, 0
  for sec = first, last do
    total = total + (per_second[sec] or 0)
    seconds = seconds + 1
  end
  if seconds <= 0 then return 0, 0 end
  return total / seconds, seconds
end

local function ms(us)
  return string.format("%.3f", (us or 0) / 1000)
end

function report.done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("llmq_status_counts") or {}
    for status, n in pairs(counts) do
      local key = tostring(status)
      statuses[key] = (statuses[key] or 0) + n
    end
  end

  local non2xx = 0
  local keys = {}
  for status, n in pairs(statuses) do
    table.insert(keys, status)
    local code = tonumber(status) or 0
    if code < 200 or code > 299 then non2xx = non2xx + n end
  end
  table.sort(keys)

  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local duration_s = summary.duration / 1e6
  local rps = 0
  if duration_s > 0 then rps = summary.requests / duration_s end

  local parts, json_parts = {}, {}
  for _, status in ipairs(keys) do
    table.insert(parts, status .. "=" .. statuses[status])
    table.insert(json_parts, string.format('"%s":%d', status, statuses[status]))
  end
  io.write(string.format("  Status codes: %s\n", #parts > 0 and table.concat(parts, " ") or "none"))
  io.write(string.format("  p95 latency: %sms  non-2xx: %d  socket errors: %d (connect %d, read %d, write %d, timeout %d)\n",
    ms(latency:percentile(95)), non2xx, socket_errors, e.connect, e.read, e.write, e.timeout))
  local steady_rps, steady_s = steady()
  local steady_json = ""
  if steady_rps ~= nil then steady_json = string.format(',"steady_rps":%.2f,"steady_s":%d', steady_rps, steady_s) end
  io.write(string.format(
    'LLMQ_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.2f,"avg_ms":%s,"p50_ms":%s,"p75_ms":%s,"p90_ms":%s,' ..
    '"p95_ms":%s,"p99_ms":%s,"max_ms":%s,"non2xx":%d,"socket_errors":%d,"errors":%d,"statuses":{%s}%s}\n',
    summary.requests, duration_s, rps, ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(75)),
    ms(latency:percentile(90)), ms(latency:percentile(95)), ms(latency:percentile(99)), ms(latency.max),
    non2xx, socket_errors, non2xx + socket_errors, table.concat(json_parts, ","), steady_json))
end

-- Default wrk hooks; a script may wrap them.
function setup(thread) report.setup(thread) end
function response(status, headers, body) report.count(status) end
function done(summary, latency, requests) report.done(summary, latency, requests) end

return report
