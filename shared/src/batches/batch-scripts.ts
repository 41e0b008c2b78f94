import { createHash } from "node:crypto";
import type { ChainableCommander } from "ioredis";
import type { Keys } from "../contracts/keys.js";
import { PROVIDERS, type ProviderName } from "../contracts/providers.js";
import type { RedisConnection } from "../redis/connections.js";
import { activeBatchesKey, batchWakeChannel, runningBatchesKey } from "./batch-keys.js";

/**
 * The Lua scripts that change a batch's counts. Invariant they keep together: an item changes state at most
 * once per step (queued → active → completed|failed, or queued → cancelled), each step moves exactly one
 * count to another in the same script, so `total = queued + active + completed + failed + cancelled` holds
 * after every script, and a reader (HGETALL) never sees a half-applied step. The per-item `state` hash makes
 * every step idempotent: a stalled job run twice, a retry, or an item fed twice changes nothing the second time.
 *
 * KEYS are always `batchKeySet(...).scriptKeys`: 1 meta, 2 state, 3 results, 4–6 pending lists, 7 lines (item ->
 * position of its latest result line), 8 retry (failed items' entries), 9 types (one character per item), all in
 * the batch's own hash slot (one script never reaches two slots, so it runs on a Redis Cluster). The feeders'
 * sets and the set of unfinished batches live elsewhere: a script that finishes (or reopens) a batch says so,
 * and its caller moves the batch in or out of them (retireBatch, announceBatch); a caller that dies in between
 * leaves an id that the feeder (empty pending list) or the reconciler (finished batch, or pending items of a
 * batch in no feeder's set) puts right on its next look.
 *
 * Every script that appends a result line also points `lines` at it, so a reader finds an item's latest line
 * in O(1) and the results route skips the lines a retry superseded.
 */

// When every item is final: the final status, finished_at and the result TTL on the batch's keys; returns 1
// then (the caller retires the batch from the feeders' sets). A cancel that cancelled nothing (every item had started) ends as completed*.
const FINISH_IF_DONE = `
local function finish_if_done(now, ttl, batch_id)
  local c = redis.call('HMGET', KEYS[1], 'total', 'completed', 'failed', 'cancelled', 'cancel_requested_at', 'finished_at')
  local total = tonumber(c[1]) or 0
  local failed = tonumber(c[3]) or 0
  local cancelled = tonumber(c[4]) or 0
  if c[6] or (tonumber(c[2]) or 0) + failed + cancelled < total then return 0 end
  local status = 'completed'
  if c[5] and cancelled > 0 then status = 'cancelled' elseif failed > 0 then status = 'completed_with_errors' end
  redis.call('HSET', KEYS[1], 'status', status, 'finished_at', now)
  for i = 1, 9 do redis.call('EXPIRE', KEYS[i], ttl) end
  return 1
end
`;

/**
 * Workers are about to run items of one batch: the items BullMQ handed out in the same turn of a worker's event
 * loop start together, in one script (batches/batch-item.ts, BatchItemStarts). ARGV: now, ttl, batch_id, then
 * per item its index and its cancelled line. Each item gets the step a script of its own would give it, in
 * order; the reply is one word per item:
 * 'run' (first start, or a re-run of a started item), 'final_c' | 'final_f' | 'final_x' (already finished: do not
 * run again), 'cancelled' (the batch was cancelled before this item started: stored as cancelled here;
 * 'cancelled_last' when that finished the batch), 'gone' (no batch).
 */
export const START_ITEMS_LUA = `${FINISH_IF_DONE}
local function start_item(index, line, now, ttl, batch_id)
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
  local s = redis.call('HGET', KEYS[2], index)
  if s == 'a' then return 'run' end
  if s then return 'final_' .. s end
  local m = redis.call('HMGET', KEYS[1], 'status', 'cancel_requested_at')
  if m[2] then
    redis.call('HSET', KEYS[2], index, 'x')
    redis.call('HINCRBY', KEYS[1], 'queued', -1)
    redis.call('HINCRBY', KEYS[1], 'cancelled', 1)
    redis.call('HSET', KEYS[7], index, redis.call('RPUSH', KEYS[3], line) - 1)
    if finish_if_done(now, ttl, batch_id) == 1 then return 'cancelled_last' end
    return 'cancelled'
  end
  redis.call('HSET', KEYS[2], index, 'a')
  redis.call('HINCRBY', KEYS[1], 'queued', -1)
  redis.call('HINCRBY', KEYS[1], 'active', 1)
  if m[1] == 'queued' then redis.call('HSET', KEYS[1], 'status', 'in_progress', 'started_at', now) end
  return 'run'
end
local out = {}
for i = 4, #ARGV - 1, 2 do
  out[#out + 1] = start_item(ARGV[i], ARGV[i + 1], ARGV[1], ARGV[2], ARGV[3])
end
return out
`;

/**
 * Items of one batch reached a final state: the items whose runs finished in the same turn of a worker's event
 * loop are stored together, in one script (BatchItemSteps). ARGV: now, ttl, batch_id, then per item its index,
 * 'c' | 'f', its result line, and for a failed item its `provider \n entry` for a later retry ('' when it cannot
 * be retried). Each item gets the step a script of its own would give it, in order; the reply is one number
 * per item: 1 when this call stored it, 2 when it stored it and that finished the batch, 0 when it was already
 * final (or the batch is gone).
 */
export const FINISH_ITEMS_LUA = `${FINISH_IF_DONE}
local function finish_item(index, state, line, retry, now, ttl, batch_id)
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local s = redis.call('HGET', KEYS[2], index)
  if s == 'c' or s == 'f' or s == 'x' then return 0 end
  redis.call('HSET', KEYS[2], index, state)
  if s == 'a' then
    redis.call('HINCRBY', KEYS[1], 'active', -1)
  else
    redis.call('HINCRBY', KEYS[1], 'queued', -1)
    if redis.call('HGET', KEYS[1], 'status') == 'queued' then redis.call('HSET', KEYS[1], 'status', 'in_progress', 'started_at', now) end
  end
  if state == 'c' then redis.call('HINCRBY', KEYS[1], 'completed', 1) else redis.call('HINCRBY', KEYS[1], 'failed', 1) end
  redis.call('HSET', KEYS[7], index, redis.call('RPUSH', KEYS[3], line) - 1)
  if state == 'f' and retry ~= '' then redis.call('HSET', KEYS[8], index, retry) end
  return 1 + finish_if_done(now, ttl, batch_id)
end
local out = {}
for i = 4, #ARGV - 3, 4 do
  out[#out + 1] = finish_item(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[1], ARGV[2], ARGV[3])
end
return out
`;

/**
 * Cancels a batch. ARGV: now, ttl, batch_id, the cancelled items' error (JSON). Every item still in a pending list becomes cancelled (with its
 * line) unless it already has a state (fed, started and finished before a crashed feeder trimmed it); items
 * already in BullMQ are cancelled by the start script (START_ITEMS_LUA) when a worker takes them; running ones finish.
 * Returns the number cancelled here, -1 when there is no batch, -2 when it had already finished. The caller
 * retires the batch from the feeders' sets (nothing is left to feed) and, when it finished, the unfinished set.
 */
export const CANCEL_BATCH_LUA = `${FINISH_IF_DONE}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then return -2 end
redis.call('HSETNX', KEYS[1], 'cancel_requested_at', ARGV[1])
local n = 0
for p = 4, 6 do
  while true do
    local entries = redis.call('LRANGE', KEYS[p], 0, 499)
    if #entries == 0 then break end
    local lines = {}
    local idxs = {}
    for _, e in ipairs(entries) do
      local a = string.find(e, '\\n', 1, true)
      local b = string.find(e, '\\n', a + 1, true)
      local idx = string.sub(e, 1, a - 1)
      if redis.call('HSETNX', KEYS[2], idx, 'x') == 1 then
        n = n + 1
        idxs[#idxs + 1] = idx
        lines[#lines + 1] = '{"status":"cancelled","custom_id":' .. string.sub(e, a + 1, b - 1) .. ',"job_id":"' .. ARGV[3] .. '-' .. idx .. '","error":' .. ARGV[4] .. '}'
      end
    end
    if #lines > 0 then
      local last = redis.call('RPUSH', KEYS[3], unpack(lines)) - 1
      for k, idx in ipairs(idxs) do redis.call('HSET', KEYS[7], idx, last - #idxs + k) end
    end
    redis.call('LTRIM', KEYS[p], #entries, -1)
  end
end
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'queued', -n)
  redis.call('HINCRBY', KEYS[1], 'cancelled', n)
end
finish_if_done(ARGV[1], ARGV[2], ARGV[3])
return n
`;

/**
 * A retry's first step. ARGV: token, now, stale_ms. Claims the batch for one retry (meta `retrying` =
 * `token now`) when it is finished, not cancelled, has failed items with stored entries, and no other retry is
 * being set up (one older than stale_ms died and is taken over). Empties the pending lists, which only a retry
 * that died half-way can have left filled. Returns 'ok', 'gone', 'running', 'cancelled', 'busy' or 'nothing'.
 */
export const BEGIN_RETRY_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local m = redis.call('HMGET', KEYS[1], 'finished_at', 'cancel_requested_at', 'retrying')
if m[3] then
  local since = tonumber(string.match(m[3], ' (%d+)$')) or 0
  if tonumber(ARGV[2]) - since < tonumber(ARGV[3]) then return 'busy' end
elseif not m[1] then
  return 'running'
end
if m[2] then return 'cancelled' end
if redis.call('HLEN', KEYS[8]) == 0 then return 'nothing' end
redis.call('HSET', KEYS[1], 'retrying', ARGV[1] .. ' ' .. ARGV[2])
for p = 4, 6 do redis.call('DEL', KEYS[p]) end
return 'ok'
`;

/**
 * A retry's last step, after the failed items' entries were pushed back into the pending lists (and their
 * states cleared) in bounded chunks while the batch was still finished, so no feeder saw them. ARGV: token, n,
 * now, round, batch_id, the provider names (PROVIDERS order). Moves n from failed to queued and reopens the
 * batch (status in_progress, no finished_at, no TTL). Returns the providers with items to feed
 * (comma-separated; the caller hands the batch to their feeders: announceBatch), or 0 when the token no longer
 * holds the batch.
 */
export const COMMIT_RETRY_LUA = `
local r = redis.call('HGET', KEYS[1], 'retrying')
if not r or string.sub(r, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return 0 end
local n = tonumber(ARGV[2])
redis.call('HDEL', KEYS[1], 'retrying', 'finished_at')
redis.call('HINCRBY', KEYS[1], 'failed', -n)
redis.call('HINCRBY', KEYS[1], 'queued', n)
redis.call('HSET', KEYS[1], 'status', 'in_progress', 'round', ARGV[4])
for _, i in ipairs({1, 2, 3, 7, 9}) do redis.call('PERSIST', KEYS[i]) end
redis.call('UNLINK', KEYS[8])
local woken = {}
for p = 4, 6 do
  if redis.call('LLEN', KEYS[p]) > 0 then woken[#woken + 1] = ARGV[p + 2] end
end
return 'ok:' .. table.concat(woken, ',')
`;

/**
 * Feeder: drops the chunk it fed, the first ARGV[1] entries of pending list KEYS[1], only if they are still
 * there: the first is ARGV[2] and the last ARGV[3]. Entries are unique (each starts with its item's index) and a
 * pending list only ever loses entries from its head while fed, so a chunk another feeder (or a cancel) took
 * meanwhile is never trimmed twice, whatever happened to the feeders' lock. Returns 1 when trimmed.
 */
export const TRIM_FED_LUA = `
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[3] then return 0 end
redis.call('LTRIM', KEYS[1], n, -1)
return 1
`;

/** Renews lock KEYS[1] for ARGV[2] ms only while its holder (token ARGV[1]) still has it. Returns 1 when renewed. */
export const RENEW_LOCK_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

/** Releases a lock only its holder (token ARGV[1]) may release. */
export const RELEASE_LOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** A script run with EVALSHA (EVAL once after a NOSCRIPT), or queued as a plain EVAL inside a MULTI. */
export class RedisScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: RedisConnection, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** Inside a MULTI a NOSCRIPT would fail only this command and let the others apply: always EVAL there. */
  queue(multi: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): ChainableCommander {
    return multi.eval(this.source, keys.length, ...keys, ...args);
  }
}

export const BATCH_SCRIPTS = {
  startItems: new RedisScript(START_ITEMS_LUA),
  finishItems: new RedisScript(FINISH_ITEMS_LUA),
  cancel: new RedisScript(CANCEL_BATCH_LUA),
  trimFed: new RedisScript(TRIM_FED_LUA),
  renewLock: new RedisScript(RENEW_LOCK_LUA),
  releaseLock: new RedisScript(RELEASE_LOCK_LUA),
  beginRetry: new RedisScript(BEGIN_RETRY_LUA),
  commitRetry: new RedisScript(COMMIT_RETRY_LUA),
} as const;

/**
 * Takes a batch out of the feeders' sets (nothing left to feed: finished or cancelled) and, when `finished`, out
 * of the set of unfinished batches. One-key commands, each key in a slot of its own; ZREM makes it idempotent.
 */
export async function retireBatch(redis: RedisConnection, keys: Keys, batchId: string, finished: boolean): Promise<void> {
  await Promise.all([
    ...PROVIDERS.map((p) => redis.zrem(activeBatchesKey(keys, p), batchId)),
    ...(finished ? [redis.zrem(runningBatchesKey(keys), batchId)] : []),
  ]);
}

/**
 * Hands a stored (or reopened) batch to the feeders of `providers`: the unfinished set, their sets, the wake
 * message. One-key commands; ZADD makes it idempotent (the reconciler repeats it for a batch it finds left out).
 */
export async function announceBatch(redis: RedisConnection, keys: Keys, batchId: string, createdAt: number, providers: readonly ProviderName[]): Promise<void> {
  await Promise.all([redis.zadd(runningBatchesKey(keys), createdAt, batchId), ...providers.map((p) => redis.zadd(activeBatchesKey(keys, p), createdAt, batchId))]);
  if (providers.length > 0) await redis.publish(batchWakeChannel(keys), providers.join(",")).catch(() => undefined);
}
