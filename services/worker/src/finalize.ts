import type { ChainableCommander, Redis } from "ioredis";
import type { FinalJobRecord, Keys } from "@llmq/shared";
import { addBatchItemFinish } from "./batches/batch-item.js";

/**
 * The one step that makes a job's final state visible. Invariant: the record, the cache entry, the cleanup
 * and the done message are written in ONE MULTI, before the processor returns or throws its final error,
 * so a reader that sees the BullMQ job finished (or hears the done message) always finds the record.
 * The record is written with NX: the first final state wins, so a cancellation the API stored while this
 * job was starting is never overwritten. A batch item's final write is its batch's script instead of the
 * record and the done message (batches/batch-item.ts), in the same MULTI.
 */
export interface FinalizeOptions {
  resultTtlS: number;
  cacheTtlS: number;
  /** The payload's cache_key; the record is cached only when the job completed. */
  cacheKey?: string | undefined;
  /** False when the job never had a setback, so it has no job-state hash to delete. */
  clearJobState?: boolean;
}

/**
 * Records up to this size travel inside the done message (`id\nrecord`), saving every waiting API a GET.
 * Larger ones are announced by id only: every API replica receives every done message.
 */
export const INLINE_RECORD_MAX_BYTES = 16 * 1024;

// Stores the record NX and announces it. Only a record that was actually stored travels in the message:
// when a cancellation got there first, readers are sent the id and read the cancelled record instead.
const STORE_AND_ANNOUNCE = `
local stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
if stored and ARGV[5] == '1' then
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. '\\n' .. ARGV[1])
else
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return stored and 1 or 0`;

export function addFinalWrites(multi: ChainableCommander, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): ChainableCommander {
  const json = JSON.stringify(record);
  // A batch item's final state is its batch's result line and counts (batches/batch-item.ts), not a record.
  const batchItem = addBatchItemFinish(multi, keys, record, opts.resultTtlS);
  if (record.status === "completed" && opts.cacheKey !== undefined) multi.set(keys.cache(opts.cacheKey), json, "EX", opts.cacheTtlS);
  if (opts.clearJobState !== false) multi.del(keys.jobState(record.id));
  if (!batchItem) {
    const inline = json.length <= INLINE_RECORD_MAX_BYTES ? "1" : "0";
    multi.eval(STORE_AND_ANNOUNCE, 1, keys.result(record.id), json, opts.resultTtlS, keys.doneChannel(), record.id, inline);
  }
  return multi;
}

export async function finalize(redis: Redis, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): Promise<void> {
  const results = await addFinalWrites(redis.multi(), keys, record, opts).exec();
  if (results === null) throw new Error(`the final write of job ${record.id} was aborted`);
  const failed = results.find(([err]) => err !== null);
  if (failed !== undefined) throw failed[0] as Error;
}
