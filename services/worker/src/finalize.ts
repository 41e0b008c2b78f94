import { RedisScript, type FinalJobRecord, type Keys, type RedisConnection } from "@llmq/shared";
import { finishBatchItem } from "./batches/batch-item.js";

/**
 * The one step that makes a job's final state visible. Invariant: the record, the cleanup and the done message
 * are written atomically (one script, on keys in the job's own hash slot), before the processor returns or
 * throws its final error, so a reader that sees the BullMQ job finished (or hears the done message) always
 * finds the record. The record is written with NX: the first final state wins, so a cancellation the API
 * stored while this job was starting is never overwritten. A batch item's final write is its batch's script
 * instead of the record and the done message (batches/batch-item.ts).
 *
 * The response cache entry lives in a slot of its own (its key is the request's hash), so it cannot share the
 * script: it is written just BEFORE it, so a client that heard the done message and asks again finds it, and
 * taken back when the record was not stored (a cancellation got there first). A crash in between leaves at
 * most a cached answer the job did produce; it never costs a result.
 *
 * Every job pays for this step, so a plain job's final write is ONE script command: it leaves with the other
 * jobs' writes sent while the connection awaits a reply (coalesce-writes.ts: one socket write for many).
 */
export interface FinalizeOptions {
  resultTtlS: number;
  cacheTtlS: number;
  /** The payload's cache_key; the record is cached only when the job completed. */
  cacheKey?: string | undefined;
  /** False when the job never had a setback, so it has no job-state hash to delete. */
  clearJobState?: boolean;
  /** A failed batch item's entry for a later retry of its batch (batchRetryEntry). */
  batchRetryEntry?: string;
}

/**
 * Records up to this size travel inside the done message (`id\nrecord`), saving every waiting API a GET.
 * Larger ones are announced by id only: every API replica receives every done message.
 */
export const INLINE_RECORD_MAX_BYTES = 16 * 1024;

// Takes back the cache entry KEYS[1] only if it is still this job's (ARGV[1]).
const UNCACHE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

// KEYS: result, job state (one slot: `{job id}`). ARGV: record, ttl, channel, id, inline?, clear state?.
// Only a record that was actually stored travels in the message: when a cancellation got there first, readers
// are sent the id and read the cancelled record instead. Returns 1 when the record was stored.
const FINALIZE = new RedisScript(`
local stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
if ARGV[6] == '1' then redis.call('DEL', KEYS[2]) end
if stored and ARGV[5] == '1' then
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. '\\n' .. ARGV[1])
else
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return stored and 1 or 0`);

function cacheTarget(keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): string | undefined {
  return record.status === "completed" && opts.cacheKey !== undefined ? keys.cache(opts.cacheKey) : undefined;
}

export async function finalize(redis: RedisConnection, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): Promise<void> {
  const cache = cacheTarget(keys, record, opts);
  const clear = opts.clearJobState !== false;
  const batchItem = await finishBatchItem(redis, keys, record, opts.resultTtlS, opts.batchRetryEntry);
  if (batchItem !== undefined) {
    // The item's state, line and counts are stored (or were already); the cleanup and the cache follow. Its
    // line is its record: the record itself is serialised only for a cache entry.
    await Promise.all([
      ...(clear ? [redis.del(keys.jobState(record.id))] : []),
      ...(batchItem && cache !== undefined ? [redis.set(cache, JSON.stringify(record), "EX", opts.cacheTtlS)] : []),
    ]);
    return;
  }
  const json = JSON.stringify(record);
  const inline = json.length <= INLINE_RECORD_MAX_BYTES ? "1" : "0";
  if (cache !== undefined) await redis.set(cache, json, "EX", opts.cacheTtlS);
  const stored = await FINALIZE.run(redis, [keys.result(record.id), keys.jobState(record.id)], [json, opts.resultTtlS, keys.doneChannel(), record.id, inline, clear ? "1" : "0"]);
  if (stored !== 1 && cache !== undefined) await UNCACHE.run(redis, [cache], [json]);
}
