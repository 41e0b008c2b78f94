import type { ChainableCommander } from "ioredis";
import type { RedisConnection } from "@llmq/shared";
import { RedisScript, type FinalJobRecord, type Keys } from "@llmq/shared";
import { addBatchItemFinish } from "./batches/batch-item.js";

/**
 * The one step that makes a job's final state visible. Invariant: the record, the cache entry, the cleanup
 * and the done message are written atomically (one script, or one MULTI for a batch item), before the
 * processor returns or throws its final error, so a reader that sees the BullMQ job finished (or hears the
 * done message) always finds the record. The record is written with NX: the first final state wins, so a
 * cancellation the API stored while this job was starting is never overwritten. A batch item's final write
 * is its batch's script instead of the record and the done message (batches/batch-item.ts).
 *
 * Every job pays for this step, so a plain job's final write is ONE script command: it rides the connection's
 * auto-pipeline with the other jobs' writes (one socket write for many), where a MULTI is four commands
 * written on their own.
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

// KEYS: result, job state, [cache]. ARGV: record, ttl, channel, id, inline?, clear state?, cache ttl.
// Only a record that was actually stored travels in the message: when a cancellation got there first, readers
// are sent the id and read the cancelled record instead; the cache is written only with the record.
const FINALIZE = new RedisScript(`
local stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
if ARGV[6] == '1' then redis.call('DEL', KEYS[2]) end
if stored and KEYS[3] then redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[7]) end
if stored and ARGV[5] == '1' then
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. '\\n' .. ARGV[1])
else
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return stored and 1 or 0`);

function cacheTarget(keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): string | undefined {
  return record.status === "completed" && opts.cacheKey !== undefined ? keys.cache(opts.cacheKey) : undefined;
}

/** A batch item's final writes, queued into a MULTI: its batch's finish script, the cache, the cleanup. */
export function addBatchItemFinalWrites(multi: ChainableCommander, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): boolean {
  if (!addBatchItemFinish(multi, keys, record, opts.resultTtlS, opts.batchRetryEntry)) return false;
  const cache = cacheTarget(keys, record, opts);
  if (cache !== undefined) multi.set(cache, JSON.stringify(record), "EX", opts.cacheTtlS);
  if (opts.clearJobState !== false) multi.del(keys.jobState(record.id));
  return true;
}

export async function finalize(redis: RedisConnection, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): Promise<void> {
  if (record.batch_id !== undefined) {
    // Nothing is sent until exec(): a record that turns out not to be a batch item's just drops the MULTI.
    const multi = redis.multi();
    if (addBatchItemFinalWrites(multi, keys, record, opts)) {
      const results = await multi.exec();
      if (results === null) throw new Error(`the final write of job ${record.id} was aborted`);
      const failed = results.find(([err]) => err !== null);
      if (failed !== undefined) throw failed[0] as Error;
      return;
    }
  }
  const json = JSON.stringify(record);
  const cache = cacheTarget(keys, record, opts);
  const scriptKeys = [keys.result(record.id), keys.jobState(record.id), ...(cache === undefined ? [] : [cache])];
  const inline = json.length <= INLINE_RECORD_MAX_BYTES ? "1" : "0";
  const clear = opts.clearJobState === false ? "0" : "1";
  await FINALIZE.run(redis, scriptKeys, [json, opts.resultTtlS, keys.doneChannel(), record.id, inline, clear, opts.cacheTtlS]);
}
