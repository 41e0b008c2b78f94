import type { RedisConnection } from "@llmq/shared";
import type { Config, ErrorBody, FinalJobRecord, JobPayload, Keys, Logger, ModelRegistry, SchemaGuard } from "@llmq/shared";
import type { Job } from "bullmq";
import type { BatchItemStarts } from "./batches/batch-item.js";
import { firstStartedAt } from "./job-state.js";
import type { JobOutcome, JobTimings, WorkerMetrics } from "./metrics.js";
import type { CapacityGate } from "./capacity/capacity-gate.js";
import type { ProviderAdapter } from "./providers/types.js";
import type { StructuredPlans } from "./structured/structured-plan.js";

/** What the processor of one provider queue needs. */
export interface RunnerDeps {
  config: Config;
  registry: ModelRegistry;
  adapter: ProviderAdapter;
  guard: SchemaGuard;
  plans: StructuredPlans;
  redis: RedisConnection;
  keys: Keys;
  /** Bound to {queue, provider}. */
  logger: Logger;
  metrics: WorkerMetrics;
  /** This provider's capacity buckets. */
  capacity: CapacityGate;
  /** Pauses this provider's queue (Worker.rateLimit). */
  rateLimit(ms: number): Promise<void>;
  /** True once shutdown began: a job picked up after that is handed back untouched. */
  isClosing(): boolean;
  /**
   * The connection BullMQ's scripts are defined on (the Worker's), for the queue a batch item retried alone is
   * added to (batches/batch-group.ts); `redis` when absent.
   */
  queueConnection?: RedisConnection;
  /** Batch items' start steps, grouped (one per worker process; the processor makes its own when absent). */
  batchStarts?: BatchItemStarts;
}

export interface JobReturn {
  stored: true;
  skipped?: FinalJobRecord["status"];
}

export type LlmqJob = Job<JobPayload, JobReturn, string>;

/** One attempt of one job: its identity, its clock, and the one way it reports an outcome. */
export interface JobRun {
  deps: RunnerDeps;
  job: LlmqJob;
  token: string | undefined;
  signal: AbortSignal | undefined;
  id: string;
  payload: JobPayload;
  attempt: number;
  maxAttempts: number;
  started: number;
  /** When the job's first attempt started (BullMQ's processedOn moves with every attempt). */
  firstStart: number;
  /**
   * Set for an item of a batch job of several items (batches/batch-group.ts) or a request of a sync job of
   * several requests (sync-group.ts); `job` is then that shared job.
   */
  group?: GroupHooks;
}

/**
 * What an item of a batch job of several items, or a request of a sync job of several requests, does where a
 * job of its own would throw to BullMQ.
 */
export interface GroupHooks {
  /** A retryable failure: the item goes on in a job of its own, after the backoff its next attempt would get. */
  retryAlone(run: JobRun, retryAfterMs: number | undefined): Promise<void>;
  /**
   * A wait for capacity or a provider's 429: the request goes on in a job of its own after `waitMs`, no attempt
   * spent (sync jobs, whose requests run side by side; a batch job's wait concerns its one slot instead).
   */
  waitAlone?(run: JobRun, waitMs: number): Promise<void>;
  /** Shutdown: the request stops here and its job is handed back once all of its requests have (sync jobs). */
  handBack?(run: JobRun, delayMs: number): never;
}

export function newRun(deps: RunnerDeps, job: LlmqJob, token: string | undefined, signal: AbortSignal | undefined): JobRun {
  // A batch item moved out of a batch job of several items brings the attempts it had there.
  const attempt = job.attemptsMade + 1 + (job.data.batch_attempts ?? 0);
  const started = Date.now();
  return {
    deps, job, token, signal,
    id: String(job.id),
    payload: job.data,
    attempt,
    maxAttempts: job.opts.attempts ?? 1,
    started,
    firstStart: job.processedOn ?? started,
  };
}

/** Retried jobs read their first start back; a first attempt costs no Redis command for it. */
export async function loadFirstStart(run: JobRun): Promise<void> {
  if (run.job.attemptsStarted <= 1 && run.payload.batch_attempts === undefined) return;
  run.firstStart = (await firstStartedAt(run.deps.redis, run.deps.keys, run.id)) ?? run.firstStart;
}

/** The attempt's one log line and one metrics event. */
export function report(run: JobRun, outcome: JobOutcome, message: string, fields: Record<string, unknown> = {}, code?: ErrorBody["code"], timings?: JobTimings): void {
  const durationMs = Date.now() - run.started;
  // A capacity wait is pacing, not trouble: it happens about once per call while a limit is reached.
  const level = outcome === "completed" || outcome === "cancelled" || outcome === "failed" ? "info" : outcome === "capacity_wait" ? "debug" : "warn";
  // No child logger per job: this is the attempt's only line, and at LOG_LEVEL=warn a completed job builds nothing.
  const log = run.deps.logger;
  if (log.isLevelEnabled(level)) {
    const line = { job_id: run.id, attempt: run.attempt, type: run.payload.type, model: run.payload.model, outcome, ...(code ? { code } : {}), duration_ms: durationMs, ...fields };
    log[level](line, `${message} (attempt ${run.attempt} of ${run.maxAttempts})`);
  }
  const batchItem = run.payload.batch_id !== undefined && fields.skipped !== true;
  run.deps.metrics.jobOutcome({ provider: run.deps.adapter.name, type: run.payload.type, model: run.payload.model, outcome, code, durationMs, attempt: run.attempt, timings, batchItem });
}

export function finalRecord(run: JobRun, status: FinalJobRecord["status"], extra: Pick<FinalJobRecord, "result" | "error">): FinalJobRecord {
  const p = run.payload;
  return {
    id: run.id,
    type: p.type,
    owner: p.owner,
    status,
    ...extra,
    attempts: run.attempt,
    created_at: p.created_at,
    started_at: run.firstStart,
    finished_at: Date.now(),
    ...(p.batch_id === undefined ? {} : { batch_id: p.batch_id }),
    ...(p.custom_id === undefined ? {} : { custom_id: p.custom_id }),
  };
}
