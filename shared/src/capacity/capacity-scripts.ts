import { RedisScript } from "../batches/batch-scripts.js";

/**
 * The capacity buckets, shared by every worker process: one Redis hash per provider model
 * (capacity-limits.ts `capacityKey`), changed only by these two scripts. Invariants:
 * - a bucket refills continuously at limit/60 s up to its capacity (CAPACITY_BURST_S seconds of the limit):
 *   no fixed windows, so a minute's requests never all go in its first second;
 * - time is Redis's own (TIME), so workers on different hosts share one clock;
 * - ACQUIRE charges every bucket of the request or none: a refused request changes nothing and learns how
 *   long the shortest-sighted bucket needs (the wait is exact, not a guess). A request whose wait is at most
 *   the hold time (CAPACITY_HOLD_MS) is admitted with a reservation instead: charged now (the buckets go
 *   negative by what is promised), it goes exactly when its wait ends, and the next request queues behind
 *   it, so steady pacing costs one script per call and never a refusal. A 429's backoff is never reserved
 *   through;
 * - a bucket holds its burst less a headroom of refill (bucketHeadroomMs): llmq charges a call at admission, the provider when
 *   it arrives, a little later, and while both buckets are full that lag is refill the provider throws away
 *   and llmq would keep; the headroom keeps llmq's bucket behind the provider's;
 * - a request larger than that goes when the provider's bucket would hold it (full at the most), and leaves
 *   llmq's negative;
 * - the effective limit of a bucket is the lower of the configured one and the one learned from the
 *   provider's headers; a bucket with neither is not limited;
 * - SETTLE only ever corrects: it charges or refunds the difference between what was charged and what the
 *   provider counted, lowers a bucket to what the provider says remains, records learned limits, and
 *   blocks the model until a 429's retry time.
 *
 * Hash fields: `<dim>:lvl`, `<dim>:ts` (level at time ts, ms), `<dim>:lim` (learned per-minute limit),
 * `blocked_until` (ms), `answered_at` (the last answer settled, ms: a job meeting 429s fails only when the
 * model has not answered at all for RATE_LIMIT_MAX_WAIT_S), and counters `admitted`, `refused`,
 * `rate_limited` for operators.
 */
const COMMON = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- ARGV[1]: the burst in ms, optionally "burst:headroom" (headroom 0 when absent).
local burst, HEADROOM_MS = string.match(ARGV[1], '^(%d+):(%d+)$')
if burst then burst, HEADROOM_MS = tonumber(burst), tonumber(HEADROOM_MS) else burst, HEADROOM_MS = tonumber(ARGV[1]), 0 end
local function limit_of(dim, conf)
  local learned = tonumber(redis.call('HGET', KEYS[1], dim .. ':lim') or '0')
  local lim = tonumber(conf)
  if learned > 0 and (lim <= 0 or learned < lim) then lim = learned end
  return lim
end
local function level_of(dim, lim)
  local cap = math.max(lim * (burst - HEADROOM_MS) / 60000, 1)
  local rate = lim / 60000
  local lvl = tonumber(redis.call('HGET', KEYS[1], dim .. ':lvl') or '')
  local ts = tonumber(redis.call('HGET', KEYS[1], dim .. ':ts') or '')
  if lvl == nil or ts == nil then lvl = cap elseif now > ts then lvl = math.min(cap, lvl + (now - ts) * rate) end
  return lvl, cap, rate
end
`;

/**
 * KEYS[1] the model's hash. ARGV: burst ms, key TTL s, hold ms, then per dimension: name, configured limit
 * (0 = none), cost. Returns {1, wait ms, '', levels...} when admitted (to go after wait ms, 0 = now),
 * {0, wait ms, short dimension or 'backoff', levels...} when not;
 * a level is the bucket's floor after the call (negative after an oversized request), or '-' for an unlimited dimension.
 */
export const ACQUIRE_CAPACITY_LUA = `${COMMON}
local wait, short = 0, ''
local hold = tonumber(ARGV[3])
local limited = false
local dims = {}
for i = 4, #ARGV, 3 do
  local dim, cost = ARGV[i], tonumber(ARGV[i + 2])
  local lim = limit_of(dim, ARGV[i + 1])
  if lim > 0 then
    limited = true
    local lvl, cap, rate = level_of(dim, lim)
    local w = 0
    if cost <= cap then
      if lvl < cost then w = (cost - lvl) / rate end
    else
      -- Oversized: llmq's bucket full, then the time the provider's takes to hold it (or to be full).
      w = math.max(0, cap - lvl) / rate + (math.min(cost, math.max(lim * burst / 60000, 1)) - cap) / rate
    end
    w = math.ceil(w)
    if w > wait then wait, short = w, dim end
    dims[#dims + 1] = {dim, lvl, cost}
  else
    dims[#dims + 1] = {dim, nil, cost}
  end
end
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
local refused = wait > hold
if blocked > now then
  refused = true
  if blocked - now >= wait then wait, short = blocked - now, 'backoff' end
end
local out = {refused and 0 or 1, wait, refused and short or ''}
for _, d in ipairs(dims) do
  if d[2] == nil then
    out[#out + 1] = '-'
  elseif refused then
    out[#out + 1] = math.floor(d[2])
  else
    local left = d[2] - d[3]
    redis.call('HSET', KEYS[1], d[1] .. ':lvl', tostring(left), d[1] .. ':ts', now)
    out[#out + 1] = math.floor(left)
  end
end
-- A model with no limit and no backoff leaves no trace: a worker's first look at it writes nothing.
if refused or limited then
  redis.call('HINCRBY', KEYS[1], refused and 'refused' or 'admitted', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return out
`;

/**
 * KEYS[1] the model's hash. ARGV: burst ms, key TTL s, block ms (0 = none), 1 when this settles a 429, then per
 * dimension: name, configured limit (0 = none), charge delta (negative refunds), learned limit (0 = none),
 * remaining the provider reported (-1 = none). Returns the levels after, as ACQUIRE does.
 */
export const SETTLE_CAPACITY_LUA = `${COMMON}
local out = {}
for i = 5, #ARGV, 5 do
  local dim, delta, learned, remaining = ARGV[i], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  if learned > 0 then redis.call('HSET', KEYS[1], dim .. ':lim', learned) end
  local lim = limit_of(dim, ARGV[i + 1])
  if lim > 0 then
    local lvl, cap = level_of(dim, lim)
    lvl = math.min(cap, lvl - delta)
    if remaining >= 0 and remaining < lvl then lvl = remaining end
    redis.call('HSET', KEYS[1], dim .. ':lvl', tostring(lvl), dim .. ':ts', now)
    out[#out + 1] = math.floor(lvl)
  else
    out[#out + 1] = '-'
  end
end
local block = tonumber(ARGV[3])
if block > 0 then
  local until_ms = now + block
  local prev = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
  if until_ms > prev then redis.call('HSET', KEYS[1], 'blocked_until', until_ms) end
end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'rate_limited', 1) else redis.call('HSET', KEYS[1], 'answered_at', now) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
`;

export const CAPACITY_SCRIPTS = {
  acquire: new RedisScript(ACQUIRE_CAPACITY_LUA),
  settle: new RedisScript(SETTLE_CAPACITY_LUA),
} as const;

/** How long a model's capacity hash outlives its last use. */
export const CAPACITY_TTL_S = 86_400;
