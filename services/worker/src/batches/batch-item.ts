import type { RedisConnection } from "@llmq/shared";
import {
  BATCH_CANCELLED_ERROR,
  BATCH_GROUP_JOB,
  batchItemJobId,
  type BatchGroupData,
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
import { StepGroups, stepGroups } from "./step-groups.js";

/**
 * A batch item's two steps in its batch's counts (the scripts are in @llmq/shared, batch-scripts.ts):
 * - start: before any provider call, the start script moves the item queued → active, or stores it as cancelled
 *   when its batch was cancelled meanwhile, or says it already finished (a stalled or re-fed job run again);
 * - finish: the finish script, so the item's final state, its result line and the batch's counts land together
 *   or not at all, exactly once whatever retries and re-runs happen. The script that finishes the batch says so
 *   and the batch is retired from the feeders' sets (retireBatch) right after.
 * Both scripts take every item of the batch that reaches the step in the same turn of the worker's event loop
 * (step-groups.ts): one round trip for the group, the same step for each item as a script of its own.
 * A batch item has no `keys.result(id)` record and no done message: nobody waits for it alone, and its result
 * line is the one copy of its result.
 */
export type StartGate = "run" | "completed" | "failed" | "cancelled" | "gone";

const FINAL_STATES: Record<string, StartGate> = { final_c: "completed", final_f: "failed", final_x: "cancelled" };

/**
 * Starts batch items: the items of one batch that start in the same turn of the worker's event loop share one
 * start script (step-groups.ts). An item runs only once its group's script answered 'run'.
 */
export class BatchItemStarts {
  private readonly groups: StepGroups;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {
    this.groups = new StepGroups(redis, BATCH_SCRIPTS.startItems);
  }

  async start(jobId: string, payload: JobPayload): Promise<StartGate> {
    const item = parseBatchItemJobId(jobId);
    if (item === undefined || item.batchId !== payload.batch_id) return "gone";
    const cancelledLine = batchResultLine({ status: "cancelled", custom_id: payload.custom_id ?? "", job_id: jobId, error: BATCH_CANCELLED_ERROR });
    const set = batchKeySet(this.keys, item.batchId);
    const reply = String(await this.groups.call(set.scriptKeys, [Date.now(), this.ttlS, item.batchId], [item.index, cancelledLine]));
    if (reply === "cancelled_last") {
      await retireBatch(this.redis, this.keys, item.batchId, true);
      return "cancelled";
    }
    if (reply === "run" || reply === "cancelled" || reply === "gone") return reply;
    return FINAL_STATES[reply] ?? "gone";
  }
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
  return storeFinish(redis, keys, item.batchId, { index: item.index, state, line, retryEntry: state === "f" ? retryEntry : "" }, ttlS);
}

/** An item's final step: its index, 'c' (completed) or 'f' (failed), its result line, a failed item's retry entry. */
export interface FinishStep {
  index: number;
  state: "c" | "f";
  line: string;
  retryEntry?: string;
}

/**
 * The finish script, then the batch's retirement when it was the batch's last item. True when it stored the
 * item. Finishes of one batch's items in the same turn of the event loop share one script (step-groups.ts).
 */
export async function storeFinish(redis: RedisConnection, keys: Keys, batchId: string, step: FinishStep, ttlS: number): Promise<boolean> {
  const set = batchKeySet(keys, batchId);
  const stored = Number(await stepGroups(redis, BATCH_SCRIPTS.finishItems).call(set.scriptKeys, [Date.now(), ttlS, batchId], [step.index, step.state, step.line, step.retryEntry ?? ""]));
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
  return storeFinish(redis, keys, item.batchId, { index: item.index, state: "f", line, retryEntry: retry }, ttlS);
}

/**
 * failLostBatchItem for a batch job of one item or of several (batch-group.ts): every item of it that is not
 * final yet is stored as failed. Returns how many were.
 */
export async function failLostBatchJob(redis: RedisConnection, keys: Keys, jobId: string, name: string, data: JobPayload | BatchGroupData, error: ErrorBody, ttlS: number): Promise<number> {
  if (name !== BATCH_GROUP_JOB) return (await failLostBatchItem(redis, keys, jobId, data as JobPayload, error, ttlS)) ? 1 : 0;
  const group = data as BatchGroupData;
  const stored = await Promise.all(group.items.map((it) => failLostBatchItem(redis, keys, batchItemJobId(group.batch_id, it.index, it.payload.batch_round ?? 0), it.payload, error, ttlS)));
  return stored.filter(Boolean).length;
}
