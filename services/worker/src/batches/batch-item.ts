import type { RedisConnection } from "@llmq/shared";
import {
  BATCH_CANCELLED_ERROR,
  BATCH_SCRIPTS,
  batchKeySet,
  batchResultLine,
  encodeBatchEntry,
  parseBatchItemJobId,
  retireBatch,
  type ProviderName,
  type ErrorBody,
  type FinalJobRecord,
  type JobPayload,
  type Keys,
} from "@llmq/shared";

/**
 * A batch item's two steps in its batch's counts (the scripts are in @llmq/shared, batch-scripts.ts):
 * - start: before any provider call, one script moves the item queued → active, or stores it as cancelled when
 *   its batch was cancelled meanwhile, or says it already finished (a stalled or re-fed job run again);
 * - finish: one script, so the item's final state, its result line and the batch's counts land together or not
 *   at all, exactly once whatever retries and re-runs happen. The script that finishes the batch says so and
 *   the batch is retired from the feeders' sets (retireBatch) right after.
 * A batch item has no `keys.result(id)` record and no done message: nobody waits for it alone, and its result
 * line is the one copy of its result.
 */
export type StartGate = "run" | "completed" | "failed" | "cancelled" | "gone";

const FINAL_STATES: Record<string, StartGate> = { final_c: "completed", final_f: "failed", final_x: "cancelled" };

export async function startBatchItem(redis: RedisConnection, keys: Keys, jobId: string, payload: JobPayload, ttlS: number): Promise<StartGate> {
  const item = parseBatchItemJobId(jobId);
  if (item === undefined || item.batchId !== payload.batch_id) return "gone";
  const cancelledLine = batchResultLine({ status: "cancelled", custom_id: payload.custom_id ?? "", job_id: jobId, error: BATCH_CANCELLED_ERROR });
  const set = batchKeySet(keys, item.batchId);
  const reply = String(await BATCH_SCRIPTS.startItem.run(redis, set.scriptKeys, [item.index, Date.now(), ttlS, item.batchId, cancelledLine]));
  if (reply === "cancelled_last") {
    await retireBatch(redis, keys, item.batchId, true);
    return "cancelled";
  }
  if (reply === "run" || reply === "cancelled" || reply === "gone") return reply;
  return FINAL_STATES[reply] ?? "gone";
}

/**
 * What a failed item leaves for a later retry of its batch: its provider and its pending entry, so the retry
 * puts it back without the client sending it again.
 */
export function batchRetryEntry(provider: ProviderName, jobId: string, payload: JobPayload): string {
  const item = parseBatchItemJobId(jobId);
  if (item === undefined) return "";
  return `${provider}\n${encodeBatchEntry(item.index, payload.custom_id ?? "", payload)}`;
}

/**
 * Runs the item's final step. Returns undefined when the record is not a batch item's (the caller stores it as a
 * plain job's), else whether this call stored it (false: it was final already). `retryEntry` (batchRetryEntry)
 * is kept with a failed item's line.
 */
export async function finishBatchItem(redis: RedisConnection, keys: Keys, record: FinalJobRecord, ttlS: number, retryEntry = ""): Promise<boolean | undefined> {
  const item = record.batch_id === undefined ? undefined : parseBatchItemJobId(record.id);
  if (item === undefined || record.status === "cancelled") return undefined;
  const line = batchResultLine({
    status: record.status,
    custom_id: record.custom_id ?? "",
    job_id: record.id,
    ...(record.result !== undefined && { result: record.result }),
    ...(record.error !== undefined && { error: record.error }),
  });
  const state = record.status === "completed" ? "c" : "f";
  return storeFinish(redis, keys, item.batchId, [item.index, state, line, Date.now(), ttlS, item.batchId, state === "f" ? retryEntry : ""]);
}

/** The finish script, then the batch's retirement when it was the batch's last item. True when it stored the item. */
export async function storeFinish(redis: RedisConnection, keys: Keys, batchId: string, args: (string | number)[]): Promise<boolean> {
  const stored = Number(await BATCH_SCRIPTS.finishItem.run(redis, batchKeySet(keys, batchId).scriptKeys, args));
  if (stored === 2) await retireBatch(redis, keys, batchId, true);
  return stored > 0;
}

/**
 * For a batch job BullMQ failed without the runner storing it (an error before the provider call on the last
 * attempt): the item is stored as failed so its batch still finishes. A no-op for items already final.
 */
export async function failLostBatchItem(redis: RedisConnection, keys: Keys, jobId: string, payload: JobPayload, error: ErrorBody, ttlS: number): Promise<boolean> {
  const item = parseBatchItemJobId(jobId);
  if (item === undefined || item.batchId !== payload.batch_id) return false;
  const line = batchResultLine({ status: "failed", custom_id: payload.custom_id ?? "", job_id: jobId, error });
  const retry = batchRetryEntry(payload.provider, jobId, payload);
  return storeFinish(redis, keys, item.batchId, [item.index, "f", line, Date.now(), ttlS, item.batchId, retry]);
}
