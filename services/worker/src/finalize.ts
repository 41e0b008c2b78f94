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

export function addFinalWrites(multi: ChainableCommander, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): ChainableCommander {
  const json = JSON.stringify(record);
  // A batch item's final state is its batch's result line and counts (batches/batch-item.ts), not a record.
  const batchItem = addBatchItemFinish(multi, keys, record, opts.resultTtlS);
  if (!batchItem) multi.set(keys.result(record.id), json, "EX", opts.resultTtlS, "NX");
  if (record.status === "completed" && opts.cacheKey !== undefined) multi.set(keys.cache(opts.cacheKey), json, "EX", opts.cacheTtlS);
  if (opts.clearJobState !== false) multi.del(keys.jobState(record.id));
  if (!batchItem) multi.publish(keys.doneChannel(), record.id);
  return multi;
}

export async function finalize(redis: Redis, keys: Keys, record: FinalJobRecord, opts: FinalizeOptions): Promise<void> {
  const results = await addFinalWrites(redis.multi(), keys, record, opts).exec();
  if (results === null) throw new Error(`the final write of job ${record.id} was aborted`);
  const failed = results.find(([err]) => err !== null);
  if (failed !== undefined) throw failed[0] as Error;
}
