import type { Queue } from "bullmq";
import type { RedisConnection } from "@llmq/shared";
import { PROVIDERS, activeBatchesKey, batchKeySet, retireBatch, parseBatchGroupJobId, parseBatchItemJobId, reconcileLockKey, runningBatchesKey, type BatchGroupData, type Config, type Keys, type Logger, type ProviderName } from "@llmq/shared";
import { failLostBatchJob } from "./batch-item.js";

/**
 * The one way a batch item can end without the runner storing it: BullMQ itself moves a job to failed when it
 * stalled more than `maxStalledCount` times (its workers died holding it), and no processor code runs. Its
 * batch would wait for it forever. So, every BATCH_RECONCILE_INTERVAL_MS, one worker (a lock) looks at the
 * unfinished batches that have nothing left to feed, finds their jobs in the provider queues' failed sets, and
 * stores each one whose item is not final yet as a failed item. The finish script is idempotent: an item the
 * runner did store is left as it is.
 * The same pass repairs what a process that died between two steps on different keys left (on a cluster those
 * keys are in different slots, so no one script can do both): a batch found finished (or expired) leaves the
 * unfinished set (its last writer died before retireBatch), and an unfinished batch with items pending for a
 * provider is put back into that provider's feeder set (its API died before announceBatch).
 */
export interface ReconcileDeps {
  config: Config;
  redis: RedisConnection;
  keys: Keys;
  queues: ReadonlyMap<ProviderName, Queue>;
  logger: Logger;
}

/** Unfinished batches looked at per pass, oldest first. */
const BATCHES_PER_PASS = 100;

export async function reconcileBatches(deps: ReconcileDeps, token: string): Promise<number> {
  const { redis, keys, config } = deps;
  const lock = reconcileLockKey(keys);
  if ((await redis.set(lock, token, "PX", config.batch.reconcileIntervalMs, "NX")) !== "OK") return 0;
  let stored = 0;
  for (const batchId of await redis.zrange(runningBatchesKey(keys), "0", String(BATCHES_PER_PASS - 1))) {
    const set = batchKeySet(keys, batchId);
    const [finished, exists] = await Promise.all([redis.hexists(set.meta, "finished_at"), redis.exists(set.meta)]);
    if (finished === 1 || exists === 0) {
      await retireBatch(redis, keys, batchId, true);
      continue;
    }
    const pending = await Promise.all(PROVIDERS.map((p) => redis.llen(set.pending[p])));
    if (pending.some((n) => n > 0)) {
      const createdAt = Number((await redis.hget(set.meta, "created_at")) ?? Date.now());
      await Promise.all(PROVIDERS.filter((_, i) => (pending[i] ?? 0) > 0).map((p) => redis.zadd(activeBatchesKey(keys, p), "NX", createdAt, batchId)));
      continue;
    }
    for (const [provider, queue] of deps.queues) stored += await failLostJobs(deps, batchId, provider, queue);
  }
  return stored;
}

async function failLostJobs(deps: ReconcileDeps, batchId: string, provider: ProviderName, queue: Queue): Promise<number> {
  const { redis, keys, config, logger } = deps;
  const failedKey = queue.keys.failed as string;
  const state = batchKeySet(keys, batchId).state;
  let stored = 0;
  let cursor = "0";
  do {
    const [next, flat] = await redis.zscan(failedKey, cursor, "MATCH", `${batchId}-*`, "COUNT", 1000);
    cursor = next;
    for (let i = 0; i < flat.length; i += 2) {
      const jobId = flat[i] as string;
      // A job of one item (its item's id) or of several (batch-group.ts).
      const item = parseBatchItemJobId(jobId);
      const ref = item ?? parseBatchGroupJobId(jobId);
      if (ref === undefined || ref.batchId !== batchId) continue;
      if (item !== undefined) {
        const now = await redis.hget(state, String(item.index));
        if (now === "c" || now === "f" || now === "x") continue;
      }
      const job = await queue.getJob(jobId);
      if (job === undefined) continue;
      const jobRound = item !== undefined ? (job.data.batch_round ?? 0) : ((job.data as unknown as BatchGroupData).items?.[0]?.payload.batch_round ?? 0);
      // A job of an earlier round failed before its batch was retried: the item runs again under a new id.
      if (jobRound !== ref.round || ref.round < Number((await redis.hget(keys.batch(batchId), "round")) ?? 0)) continue;
      const message = `the item's job failed in BullMQ without being run to the end: ${job.failedReason || "no reason recorded"}`.slice(0, 500);
      const n = await failLostBatchJob(redis, keys, jobId, job.name, job.data, { code: "INTERNAL", message }, config.jobs.resultTtlS);
      if (n > 0) {
        stored += n;
        logger.warn({ provider, job_id: jobId, batch_id: batchId, items: n, reason: job.failedReason }, "batch item failed outside the runner; stored as failed");
      }
    }
  } while (cursor !== "0");
  return stored;
}
