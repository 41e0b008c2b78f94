import type { Config } from "../config/config.js";

/**
 * The options every llmq job is enqueued with. The API passes them to `queue.add(type, payload, {jobId,
 * ...defaultJobOptions(config)})`; the worker owns the backoff strategy named here (exponential with
 * jitter, see services/worker/src/backoff.ts). Structurally a BullMQ `JobsOptions`, so this package needs no
 * BullMQ dependency.
 */
export const BACKOFF_TYPE = "llmq-exponential-jitter";

export interface KeepJobsOptions {
  /** Seconds a finished job stays in BullMQ. */
  age: number;
  /** At most this many finished jobs stay in BullMQ. */
  count: number;
}

export interface LlmqJobOptions {
  attempts: number;
  backoff: { type: typeof BACKOFF_TYPE; delay: number };
  removeOnComplete: KeepJobsOptions;
  removeOnFail: KeepJobsOptions;
}

export function defaultJobOptions(config: Pick<Config, "jobs">): LlmqJobOptions {
  const j = config.jobs;
  return {
    attempts: j.attempts,
    backoff: { type: BACKOFF_TYPE, delay: j.backoffMs },
    // Results live under keys.result(id) with their own TTL; BullMQ's copy only needs to outlive the hand-over.
    removeOnComplete: { age: j.keepCompletedS, count: j.keepCompletedCount },
    removeOnFail: { age: j.keepFailedS, count: j.keepFailedCount },
  };
}
