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
 * - start: before any provider call, the start script moves the item queued → active, or stores it as cancelled
 *   when its batch was cancelled meanwhile, or says it already finished (a stalled or re-fed job run again);
 * - finish: one script, so the item's final state, its result line and the batch's counts land together or not
 *   at all, exactly once whatever retries and re-runs happen. The script that finishes the batch says so and
 *   the batch is retired from the feeders' sets (retireBatch) right after.
 * A batch item has no `keys.result(id)` record and no done message: nobody waits for it alone, and its result
 * line is the one copy of its result.
 */
export type StartGate = "run" | "completed" | "failed" | "cancelled" | "gone";

const FINAL_STATES: Record<string, StartGate> = { final_c: "completed", final_f: "failed", final_x: "cancelled" };

/** The most items one start script takes; more starting at once make several scripts. */
export const START_GROUP_MAX = 64;

interface Starting {
  index: number;
  cancelledLine: string;
  resolve(gate: StartGate): void;
  reject(err: unknown): void;
}

/**
 * Starts batch items in groups. BullMQ hands a worker its jobs a Redis reply at a time, and one reply often
 * carries several (every finished job fetches the next): the items of one batch that start in the same turn of
 * the event loop share one start script, sent in the check phase right after that turn (setImmediate), where
 * a script each cost a round trip and about a tenth of the worker's CPU per item in a batch drain.
 *
 * Invariant: an item's gate is what a script of its own would have said: the script applies the same step to
 * each item, in order, atomically for the group, and an item is never run before its group's script answered
 * 'run'. A failed script fails every start of its group, each job like a failed round trip before.
 */
export class BatchItemStarts {
  private readonly waiting = new Map<string, Starting[]>();
  private scheduled = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {}

  start(jobId: string, payload: JobPayload): Promise<StartGate> {
    const item = parseBatchItemJobId(jobId);
    if (item === undefined || item.batchId !== payload.batch_id) return Promise.resolve("gone");
    const cancelledLine = batchResultLine({ status: "cancelled", custom_id: payload.custom_id ?? "", job_id: jobId, error: BATCH_CANCELLED_ERROR });
    return new Promise<StartGate>((resolve, reject) => {
      let group = this.waiting.get(item.batchId);
      if (group === undefined) this.waiting.set(item.batchId, (group = []));
      group.push({ index: item.index, cancelledLine, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = [...this.waiting];
    this.waiting.clear();
    for (const [batchId, items] of groups) {
      for (let i = 0; i < items.length; i += START_GROUP_MAX) void this.run(batchId, items.slice(i, i + START_GROUP_MAX));
    }
  }

  private async run(batchId: string, items: Starting[]): Promise<void> {
    try {
      const args: (string | number)[] = [Date.now(), this.ttlS, batchId];
      for (const it of items) args.push(it.index, it.cancelledLine);
      const replies = await BATCH_SCRIPTS.startItems.run(this.redis, batchKeySet(this.keys, batchId).scriptKeys, args);
      if (!Array.isArray(replies) || replies.length !== items.length) throw new Error(`the batch start script answered ${JSON.stringify(replies)} for ${items.length} items`);
      if (replies.some((r) => r === "cancelled_last")) await retireBatch(this.redis, this.keys, batchId, true);
      items.forEach((it, i) => {
        const reply = String(replies[i]);
        it.resolve(reply === "cancelled_last" ? "cancelled" : reply === "run" || reply === "cancelled" || reply === "gone" ? reply : (FINAL_STATES[reply] ?? "gone"));
      });
    } catch (err) {
      for (const it of items) it.reject(err);
    }
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
