import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import {
  AppError,
  type Config,
  type ErrorBody,
  type FinalJobRecord,
  type JobPayload,
  type JobResult,
  type JobType,
  type Keys,
  type Logger,
  type ModelRegistry,
  type SchemaGuard,
} from "@llmq/shared";
import { RetryableError } from "./backoff.js";
import { finalize } from "./finalize.js";
import { firstStartedAt, recordSetback } from "./job-state.js";
import type { JobOutcome, WorkerMetrics } from "./metrics.js";
import { PROCESSORS } from "./processors/index.js";
import type { Processor, ProcessorContext, ProcessorOutput } from "./processors/types.js";
import { classifyFailure } from "./providers/classify.js";
import type { ProviderAdapter } from "./providers/types.js";
import type { StructuredPlans } from "./structured/structured-plan.js";

/**
 * The BullMQ processor for one provider queue. Invariants:
 * - a job whose final record already exists (cancelled by the API, or finished by an earlier run that
 *   crashed before telling BullMQ) is never sent to a provider again;
 * - every final outcome (success, unrecoverable failure, last attempt, 429 cap) is stored by finalize()
 *   BEFORE this function returns or throws, and a stored job is never retried (UnrecoverableError);
 * - exactly one log line and one metrics event per attempt's outcome.
 */
export const SHUTDOWN_REASON = "llmq:worker-shutdown";
/** The queue's pause when a 429 carries no retry-after. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;

export interface RunnerDeps {
  config: Config;
  registry: ModelRegistry;
  adapter: ProviderAdapter;
  guard: SchemaGuard;
  plans: StructuredPlans;
  redis: Redis;
  keys: Keys;
  /** Bound to {queue, provider}. */
  logger: Logger;
  metrics: WorkerMetrics;
  /** Pauses this provider's queue (Worker.rateLimit). */
  rateLimit(ms: number): Promise<void>;
  /** True once shutdown began: a job picked up after that is handed back untouched. */
  isClosing(): boolean;
}

export interface JobReturn {
  stored: true;
  skipped?: FinalJobRecord["status"];
}

export type LlmqJob = Job<JobPayload, JobReturn, string>;

/** 429s a job may meet before it fails with PROVIDER_RATE_LIMITED (they do not count as BullMQ attempts). */
export function rateLimitCap(config: Config): number {
  return config.jobs.attempts * 2;
}

export function createJobProcessor(deps: RunnerDeps): (job: LlmqJob, token?: string, signal?: AbortSignal) => Promise<JobReturn> {
  const { config, redis, keys, adapter } = deps;
  const provider = adapter.name;
  const finalizeOpts = { resultTtlS: config.jobs.resultTtlS, cacheTtlS: config.api.cacheTtlS };

  return async (job, token, signal) => {
    const started = Date.now();
    const jobId = String(job.id);
    const payload = job.data;
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const log = deps.logger.child({ job_id: jobId, attempt });
    const of = `attempt ${attempt} of ${maxAttempts}`;
    const outcome = (kind: JobOutcome, code?: ErrorBody["code"]): void =>
      deps.metrics.jobOutcome({ provider, type: payload.type, model: payload.model, outcome: kind, code, durationMs: Date.now() - started, attempt });

    if (deps.isClosing() && token !== undefined) {
      // BullMQ can still hand out a job while its close() interrupts a blocking fetch; give it back.
      await job.moveToDelayed(Date.now(), token);
      log.info({ type: payload.type, model: payload.model, outcome: "requeued" }, `job handed back: worker is shutting down (${of})`);
      outcome("requeued");
      throw new DelayedError();
    }
    const existing = await redis.get(keys.result(jobId));
    if (existing !== null) return alreadyFinished(existing, log, of, outcome);
    const firstStart = (job.attemptsStarted > 1 ? await firstStartedAt(redis, keys, jobId) : undefined) ?? job.processedOn ?? started;
    const record = (status: FinalJobRecord["status"], extra: Pick<FinalJobRecord, "result" | "error">): FinalJobRecord => ({
      id: jobId,
      type: payload.type,
      owner: payload.owner,
      status,
      ...extra,
      attempts: attempt,
      created_at: payload.created_at,
      started_at: firstStart,
      finished_at: Date.now(),
      ...(payload.batch_id === undefined ? {} : { batch_id: payload.batch_id }),
      ...(payload.custom_id === undefined ? {} : { custom_id: payload.custom_id }),
    });

    try {
      if (job.name !== payload.type) throw new AppError("INVALID_REQUEST", `job name "${job.name}" does not match payload type "${String(payload.type)}"`);
      const model = deps.registry.get(payload.model);
      if (model === undefined || model.provider !== provider) throw new AppError("UNKNOWN_MODEL", `model "${payload.model}" is not served by the ${provider} queue`);
      const ctx = { payload, model, adapter, guard: deps.guard, plans: deps.plans, config, metrics: deps.metrics, signal: signal ?? NEVER };
      const out = await runProcessor(payload.type, ctx as ProcessorContext<JobType>);
      const finishedAt = Date.now();
      const result = {
        id: jobId,
        type: payload.type,
        model: payload.model,
        provider,
        simulated: adapter.simulated,
        ...out.fields,
        finish_reason: out.finishReason,
        usage: out.usage,
        attempts: attempt,
        repairs: out.repairs,
        cached: false,
        timings: {
          queued_ms: round(Math.max(0, firstStart - payload.created_at)),
          provider_ms: round(out.providerMs),
          validate_ms: round(out.validateMs),
          total_ms: round(Math.max(0, finishedAt - payload.created_at)),
        },
      } as JobResult;
      await finalize(redis, keys, record("completed", { result }), { ...finalizeOpts, cacheKey: payload.cache_key });
      log.info({ type: payload.type, model: payload.model, outcome: "completed", duration_ms: finishedAt - started, repairs: out.repairs, usage: out.usage }, `job completed (${of})`);
      outcome("completed");
      return { stored: true };
    } catch (err) {
      if (signal?.aborted === true && signal.reason === SHUTDOWN_REASON && token !== undefined) {
        // Shutdown outran the grace period: hand the job back without spending an attempt.
        await job.moveToDelayed(Date.now() + config.jobs.backoffMs, token);
        log.warn({ type: payload.type, model: payload.model, outcome: "requeued", duration_ms: Date.now() - started }, `job handed back at shutdown (${of})`);
        outcome("requeued");
        throw new DelayedError();
      }
      const failure = classifyFailure(err, provider);
      let error = failure.error;
      if (failure.kind === "rate_limited") {
        const hits = await recordSetback(redis, keys, jobId, firstStart, config.jobs.resultTtlS, true);
        if (hits <= rateLimitCap(config)) {
          const waitMs = Math.min(failure.waitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS, config.worker.maxRateLimitWaitMs);
          if (waitMs > 0) await deps.rateLimit(waitMs);
          log.warn({ type: payload.type, model: payload.model, outcome: "rate_limited", duration_ms: Date.now() - started, wait_ms: waitMs, rate_limited: hits }, `provider rate limit: ${provider} queue paused (${of})`);
          outcome("rate_limited", error.code);
          throw Worker.RateLimitError();
        }
        error = { ...error, message: `${provider} kept answering 429 (${hits} times): ${error.message}`, details: { ...error.details, rate_limited: hits } };
      } else if (failure.kind === "retry" && attempt < maxAttempts) {
        await recordSetback(redis, keys, jobId, firstStart, config.jobs.resultTtlS, false);
        log.warn({ type: payload.type, model: payload.model, outcome: "retried", code: error.code, duration_ms: Date.now() - started, error_message: error.message }, `job will be retried (${of})`);
        outcome("retried", error.code);
        throw new RetryableError(`${error.code}: ${error.message}`, failure.retryAfterMs);
      }
      await finalize(redis, keys, record("failed", { error }), finalizeOpts);
      log.info({ type: payload.type, model: payload.model, outcome: "failed", code: error.code, duration_ms: Date.now() - started, error_message: error.message }, `job failed (${of})`);
      outcome("failed", error.code);
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
  };
}

function runProcessor<T extends JobType>(type: T, ctx: ProcessorContext<T>): Promise<ProcessorOutput<T>> {
  return (PROCESSORS[type] as Processor<T>)(ctx);
}

function alreadyFinished(json: string, log: Logger, of: string, outcome: (k: JobOutcome, code?: ErrorBody["code"]) => void): JobReturn {
  let stored: Pick<FinalJobRecord, "status" | "error"> = { status: "completed" };
  try {
    stored = JSON.parse(json) as FinalJobRecord;
  } catch {
    // an unreadable record is still a record: never run the job twice
  }
  log.info({ outcome: stored.status, skipped: true }, `job already ${stored.status}; not run again (${of})`);
  if (stored.status === "failed") {
    outcome("failed", stored.error?.code);
    throw new UnrecoverableError(`${stored.error?.code ?? "INTERNAL"}: ${stored.error?.message ?? "failed earlier"}`);
  }
  outcome(stored.status === "cancelled" ? "cancelled" : "completed");
  return { stored: true, skipped: stored.status };
}

const NEVER = new AbortController().signal;

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
