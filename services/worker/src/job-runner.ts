import { DelayedError, UnrecoverableError, Worker } from "bullmq";
import { AppError, BATCH_GROUP_JOB, STREAM_TTL_S, SYNC_GROUP_JOB, type ErrorCode, type FinalJobRecord, type JobResult, type JobType } from "@llmq/shared";
import { RetryableError } from "./backoff.js";
import { BatchItemStarts, batchRetryEntry, type StartGate } from "./batches/batch-item.js";
import { GroupRunState, runBatchGroup, type GroupItemRunner } from "./batches/batch-group.js";
import { finalize, type FinalizeOptions } from "./finalize.js";
import { finalRecord, loadFirstStart, newRun, report, type JobReturn, type JobRun, type LlmqJob, type RunnerDeps } from "./job-run.js";
import { recordRateLimited, recordSetback } from "./job-state.js";
import { PROCESSORS } from "./processors/index.js";
import type { Processor, ProcessorContext, ProcessorOutput } from "./processors/types.js";
import { CapacityWaitError, DEFAULT_BLOCK_MS } from "./capacity/capacity-gate.js";
import { classifyFailure } from "./providers/classify.js";
import { StreamSink } from "./streaming/stream-sink.js";
import { runSyncGroup } from "./sync-group.js";
import { CallPermits } from "./call-permits.js";

/**
 * The BullMQ processor for one provider queue. Invariants:
 * - a job whose final record already exists (cancelled by the API, or finished by an earlier run that
 *   crashed before telling BullMQ) is never sent to a provider again; for a batch item the same holds through
 *   its batch's item state (batches/batch-item.ts), which also cancels it when its batch was cancelled;
 * - every final outcome (success, unrecoverable failure, last attempt, 429 cap) is stored by finalize()
 *   BEFORE this function returns or throws, and a stored job is never retried (UnrecoverableError);
 * - exactly one log line and one metrics event per attempt's outcome (job-run.ts `report`);
 * - waiting for capacity or for a provider's 429 never spends an attempt nor holds a slot: the job goes back
 *   to the queue (pacing pauses the provider's queue for every worker and keeps the job's place; a model
 *   blocked by a 429 for longer delays only its jobs, so the provider's other models go on), and only
 *   RATE_LIMIT_MAX_WAIT_S in which its model answered nothing but 429s fails it;
 * - provider calls in flight never exceed the provider's concurrency: every attempt takes a call permit first
 *   (call-permits.ts), since a sync job of several requests (sync-group.ts) runs them side by side in one slot,
 *   and there the job's requests retry and wait each in a job of its own instead of moving the shared job.
 */
export const SHUTDOWN_REASON = "llmq:worker-shutdown";
/** The queue's pause when a 429 carries no retry-after. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = DEFAULT_BLOCK_MS;
/** The longest single pause of a provider's queue; a model blocked longer by a 429 delays its jobs instead. */
export const QUEUE_PAUSE_MAX_MS = 1_000;

export type { JobReturn, LlmqJob, RunnerDeps } from "./job-run.js";

export function createJobProcessor(deps: RunnerDeps): (job: LlmqJob, token?: string, signal?: AbortSignal) => Promise<JobReturn> {
  const starts = deps.batchStarts ?? new BatchItemStarts(deps.redis, deps.keys, deps.config.jobs.resultTtlS);
  const permits = new CallPermits(deps.config.providers[deps.adapter.name].concurrency);
  const permitted = async (run: JobRun): Promise<JobReturn> => {
    const wait = permits.take();
    if (wait !== undefined) await wait;
    try {
      return await attempt(run);
    } finally {
      permits.release();
    }
  };
  const items: GroupItemRunner = { starts, attempt: permitted, skipped: batchItemSkipped, handBack, keepPlace };
  const groups = new GroupRunState(deps.redis, deps.queueConnection ?? deps.redis);
  return async (job, token, signal) => {
    // A batch job of several items runs them one after another, each as the job of its own it would otherwise be.
    if (job.name === BATCH_GROUP_JOB) return runBatchGroup(deps, job, token, signal, items, groups);
    // A sync job of several requests runs them side by side, each as the job of its own it would otherwise be.
    if (job.name === SYNC_GROUP_JOB) return runSyncGroup(deps, job, token, signal, { attempt: permitted }, groups);
    const run = newRun(deps, job, token, signal);
    // BullMQ can still hand out a job while its close() interrupts a blocking fetch; give it back.
    if (deps.isClosing()) return handBack(run, 0, "job handed back: worker is shutting down");
    if (run.payload.batch_id !== undefined) {
      const gate = await starts.start(run.id, run.payload);
      if (gate !== "run") return batchItemSkipped(run, gate);
    } else if (run.payload.cancelled_at !== undefined) {
      return cancelledBeforeStart(run);
    } else if (run.job.attemptsStarted > 1) {
      // Only a job started before can have a record of its own making (a run that crashed after storing it);
      // a first start learns of a cancellation from the mark in its payload, without a round trip.
      const existing = await deps.redis.get(deps.keys.result(run.id));
      if (existing !== null) return alreadyFinished(run, existing);
    }
    return permitted(run);
  };
}

/**
 * One attempt of a job that may run: its outcome stored, or the job moved back to wait (it throws). An item of a
 * batch job of several items (`run.group`) returns instead of throwing when it failed or asks for a retry.
 */
async function attempt(run: JobRun): Promise<JobReturn> {
  await loadFirstStart(run);
  try {
    return await complete(run);
  } catch (err) {
    if (run.signal?.aborted === true && run.signal.reason === SHUTDOWN_REASON) {
      return handBack(run, run.deps.config.jobs.backoffMs, "job handed back at shutdown");
    }
    if (err instanceof CapacityWaitError) return waitAgain(run, err.waitMs, "capacity_wait", `waiting for ${err.limit} capacity`, { limit: err.limit, wait_ms: err.waitMs }, undefined, err.limit === "backoff");
    return fail(run, err);
  }
}

async function complete(run: JobRun): Promise<JobReturn> {
  const { deps, payload } = run;
  if (run.group === undefined && run.job.name !== payload.type) throw new AppError("INVALID_REQUEST", `job name "${run.job.name}" does not match payload type "${String(payload.type)}"`);
  const model = deps.registry.get(payload.model);
  if (model === undefined || model.provider !== deps.adapter.name) {
    throw new AppError("UNKNOWN_MODEL", `model "${payload.model}" is not served by the ${deps.adapter.name} queue`);
  }
  const stream = payload.type === "chat" && payload.stream === true ? new StreamSink(deps.redis, deps.keys.stream(run.id), run.attempt, STREAM_TTL_S, deps.logger) : undefined;
  const ctx = { payload, model, adapter: deps.adapter, guard: deps.guard, plans: deps.plans, config: deps.config, metrics: deps.metrics, signal: run.signal ?? NEVER, capacity: { gate: deps.capacity, admitted: 0 }, stream };
  const out = await runProcessor(payload.type, ctx as ProcessorContext<JobType>).finally(() => stream?.flush());
  const finishedAt = Date.now();
  const result = {
    id: run.id,
    type: payload.type,
    model: payload.model,
    provider: deps.adapter.name,
    simulated: deps.adapter.simulated,
    ...out.fields,
    finish_reason: out.finishReason,
    usage: out.usage,
    attempts: run.attempt,
    repairs: out.repairs,
    cached: false,
    timings: {
      queued_ms: round(Math.max(0, run.firstStart - payload.created_at)),
      provider_ms: round(out.providerMs),
      validate_ms: round(out.validateMs),
      total_ms: round(Math.max(0, finishedAt - payload.created_at)),
    },
  } as JobResult;
  await finalize(deps.redis, deps.keys, finalRecord(run, "completed", { result }), finalizeOptions(run, payload.cache_key));
  const timings = { queuedMs: Math.max(0, run.firstStart - payload.created_at), providerMs: out.providerMs, validateMs: out.validateMs };
  report(run, "completed", "job completed", { repairs: out.repairs, usage: out.usage }, undefined, timings);
  return { stored: true };
}

/**
 * Throws: RateLimitError or DelayedError (waits), RetryableError (BullMQ backs off) or, once stored,
 * UnrecoverableError. An item of a batch job of several items (`run.group`) does not throw for the last two: a
 * retry moves it to a job of its own (its attempts go on counting), and a stored failure ends only the item.
 */
async function fail(run: JobRun, err: unknown): Promise<JobReturn> {
  const { deps } = run;
  const { config, redis, keys } = deps;
  const failure = classifyFailure(err, deps.adapter.name);
  let error = failure.error;
  if (failure.kind === "rate_limited") {
    // The model's buckets already hold every worker back (callProvider settled the 429); this job waits too.
    const model = deps.registry.get(run.payload.model);
    const answeredAt = model === undefined ? 0 : await deps.capacity.lastAnsweredAt(model);
    const { hits, streakSince } = await recordRateLimited(redis, keys, run.id, run.firstStart, config.jobs.resultTtlS, answeredAt);
    const waitedS = (Date.now() - streakSince) / 1000;
    if (waitedS < config.worker.rateLimitMaxWaitS) {
      const waitMs = Math.min(failure.waitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS, config.worker.maxRateLimitWaitMs);
      return waitAgain(run, waitMs, "rate_limited", `provider rate limit: ${deps.adapter.name} ${run.payload.model} waits`, { wait_ms: waitMs, rate_limited: hits }, error.code, true);
    }
    error = { ...error, message: `${deps.adapter.name} answered ${run.payload.model} nothing but 429 for ${Math.round(waitedS)} s (${hits} times): ${error.message}`, details: { ...error.details, rate_limited: hits, waited_s: Math.round(waitedS) } };
  } else if (failure.kind === "retry" && run.attempt < run.maxAttempts) {
    await recordSetback(redis, keys, run.id, run.firstStart, config.jobs.resultTtlS);
    report(run, "retried", "job will be retried", { error_message: error.message }, error.code);
    if (run.group !== undefined) {
      await run.group.retryAlone(run, failure.retryAfterMs);
      return { stored: true };
    }
    throw new RetryableError(`${error.code}: ${error.message}`, failure.retryAfterMs);
  }
  const retryEntry = run.payload.batch_id === undefined ? undefined : batchRetryEntry(deps.adapter.name, run.id, run.payload);
  await finalize(redis, keys, finalRecord(run, "failed", { error }), { ...finalizeOptions(run, undefined), ...(retryEntry !== undefined && { batchRetryEntry: retryEntry }) });
  report(run, "failed", "job failed", { error_message: error.message }, error.code);
  if (run.group !== undefined) return { stored: true };
  throw new UnrecoverableError(`${error.code}: ${error.message}`);
}

/**
 * Back to the queue without spending an attempt, for `waitMs`. Pacing waits pause the provider's queue for
 * every worker (BullMQ's manual rate limit), at most QUEUE_PAUSE_MAX_MS at a time: the job goes back to the
 * head of its priority and keeps its place (a delayed job would come back behind everything queued since,
 * and could be overtaken again and again). A model blocked by a provider's 429 (`blocked`) for longer than
 * that delays only this job instead, so the provider's other models are not held up by this one.
 */
async function waitAgain(run: JobRun, waitMs: number, outcome: "capacity_wait" | "rate_limited", message: string, fields: Record<string, unknown>, code: ErrorCode | undefined, blocked: boolean): Promise<JobReturn> {
  report(run, outcome, message, fields, code);
  if (run.group?.waitAlone !== undefined) {
    // A request of a sync job of several requests waits in a job of its own (sync-group.ts); pacing still
    // pauses the provider's queue for every worker, as it would for a job of its own.
    if (waitMs > 0 && !(blocked && waitMs > QUEUE_PAUSE_MAX_MS)) await run.deps.rateLimit(Math.min(waitMs, QUEUE_PAUSE_MAX_MS));
    await run.group.waitAlone(run, waitMs);
    return { stored: true };
  }
  if (blocked && waitMs > QUEUE_PAUSE_MAX_MS && run.token !== undefined) {
    await run.job.moveToDelayed(Date.now() + waitMs, run.token);
    throw new DelayedError();
  }
  if (waitMs > 0) await run.deps.rateLimit(Math.min(waitMs, QUEUE_PAUSE_MAX_MS));
  const priority = run.job.opts.priority ?? 0;
  if (priority === 0 || run.token === undefined) throw Worker.RateLimitError();
  // BullMQ puts a job it moves back ahead of its priority with one score for all: Redis then orders those by
  // job id, so jobs put back again and again would always go to the same batches first. This keeps them in
  // the order they were added to the queue instead (still ahead of anything added since).
  return keepPlace(run);
}

/** Back to wait ahead of every job of its priority added since (see waitAgain); always throws (DelayedError). */
async function keepPlace(run: Pick<JobRun, "job" | "token" | "deps">): Promise<never> {
  const priority = run.job.opts.priority ?? 0;
  if (run.token === undefined) throw Worker.RateLimitError();
  await run.job.moveToWait(run.token);
  await run.deps.redis.zadd(run.job.queueQualifiedName + ":prioritized", "XX", keepPlaceScore(priority, run.job.timestamp), String(run.job.id));
  throw new DelayedError();
}

/** Ahead of every job of this priority added since (BullMQ scores those priority × 2^32 + a counter), oldest first. */
export function keepPlaceScore(priority: number, addedAt: number): number {
  return priority * 2 ** 32 - 2 ** 31 + (addedAt % 2 ** 31);
}

/** Back to the queue without spending an attempt. */
async function handBack(run: JobRun, delayMs: number, message: string): Promise<never> {
  if (run.group?.handBack !== undefined) {
    report(run, "requeued", message);
    return run.group.handBack(run, delayMs);
  }
  if (run.token !== undefined) await run.job.moveToDelayed(Date.now() + delayMs, run.token);
  report(run, "requeued", message);
  throw new DelayedError();
}

function alreadyFinished(run: JobRun, json: string): JobReturn {
  let stored: Pick<FinalJobRecord, "status" | "error"> = { status: "completed" };
  try {
    stored = JSON.parse(json) as FinalJobRecord;
  } catch {
    // an unreadable record is still a record: never run the job twice
  }
  if (stored.status === "failed") {
    report(run, "failed", "job already failed; not run again", { skipped: true }, stored.error?.code);
    throw new UnrecoverableError(`${stored.error?.code ?? "INTERNAL"}: ${stored.error?.message ?? "failed earlier"}`);
  }
  report(run, stored.status === "cancelled" ? "cancelled" : "completed", `job already ${stored.status}; not run again`, { skipped: true });
  return { stored: true, skipped: stored.status };
}

/**
 * A job the API marked cancelled before any worker took it. The API stores the record right after the mark;
 * writing it here too (NX, so the API's stays) keeps the promise of one final record if the API died between.
 */
async function cancelledBeforeStart(run: JobRun): Promise<JobReturn> {
  const { started_at: _never, ...record } = finalRecord(run, "cancelled", {});
  await finalize(run.deps.redis, run.deps.keys, { ...record, attempts: 0, finished_at: run.payload.cancelled_at ?? record.finished_at }, finalizeOptions(run, undefined));
  report(run, "cancelled", "job cancelled before it started; not run", { skipped: true });
  return { stored: true, skipped: "cancelled" };
}

/** A batch item that must not run: cancelled with its batch, already finished, or its batch is gone. */
function batchItemSkipped(run: JobRun, gate: Exclude<StartGate, "run">): JobReturn {
  const status = gate === "gone" ? "cancelled" : gate;
  report(run, status === "failed" ? "failed" : status, gate === "cancelled" ? "batch item cancelled with its batch; not run" : `batch item ${gate === "gone" ? "has no batch any more" : `already ${gate}`}; not run`, { skipped: true, batch_id: run.payload.batch_id });
  return { stored: true, skipped: status };
}

function runProcessor<T extends JobType>(type: T, ctx: ProcessorContext<T>): Promise<ProcessorOutput<T>> {
  return (PROCESSORS[type] as Processor<T>)(ctx);
}

function finalizeOptions(run: JobRun, cacheKey: string | undefined): FinalizeOptions {
  const { config } = run.deps;
  // A job on its first start has never written a job-state hash (job-state.ts): nothing to delete. A batch item
  // moved out of a batch job of several items wrote one there (its setback), under its own id.
  return { resultTtlS: config.jobs.resultTtlS, cacheTtlS: config.api.cacheTtlS, cacheKey, clearJobState: run.job.attemptsStarted > 1 || run.payload.batch_attempts !== undefined };
}

const NEVER = new AbortController().signal;

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
