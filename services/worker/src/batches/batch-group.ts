import { Queue } from "bullmq";
import { batchItemJobId, type BatchGroupData, type JobPayload, type RedisConnection } from "@llmq/shared";
import { retryDelay } from "../backoff.js";
import type { GroupHooks, JobReturn, JobRun, LlmqJob, RunnerDeps } from "../job-run.js";
import type { BatchItemStarts, StartGate } from "./batch-item.js";

/**
 * A batch job of several items (the feeder groups up to `batch.jobItems` consecutive items of a batch into one
 * BullMQ job, feeder.ts groupJobs): BullMQ's add, fetch and finish of a job are shared by its items, and each
 * item otherwise runs exactly as the job of its own it would be. Invariants:
 * - one item at a time, in order, in the one slot the job holds: a worker never has more provider calls in
 *   flight than its concurrency;
 * - each item passes its own start gate (batch-item.ts) just before it runs, so an item that finished in an
 *   earlier run of the job (a stalled job run again, a job moved back to wait) is skipped, and a cancelled
 *   batch stops its items after the one running;
 * - an item's outcome is its own: its record (the finish script), its log line and metrics event; a failure
 *   ends only that item, and a retryable one moves the item to a job of its own (its id batchItemJobId, its
 *   attempts counted on from `batch_attempts`, after the backoff its next attempt would have had) BEFORE the
 *   job goes on, so the item is in BullMQ either way;
 * - what concerns the whole slot concerns the job: a shutdown hands it back, a capacity wait or a 429 moves it
 *   back to wait keeping its place (job-runner.ts), and its finished items are skipped when it comes back;
 * - nothing that would run ahead of the job waits behind all of it: between two items, when the provider's
 *   queue holds an interactive job (no priority) or a job of a better priority than this one (a newly arrived
 *   key's first share, feeder.ts), as QueueWatch saw it at most WATCH_MS ago, the job moves back to wait keeping
 *   its place and gives its slot up.
 */
export interface GroupItemRunner {
  starts: BatchItemStarts;
  /** One attempt of an item that may run (job-runner.ts). */
  attempt(run: JobRun): Promise<JobReturn>;
  skipped(run: JobRun, gate: Exclude<StartGate, "run">): JobReturn;
  handBack(run: JobRun, delayMs: number, message: string): Promise<never>;
  /** Moves the job back to wait ahead of its priority (job-runner.ts keepPlace); throws DelayedError. */
  keepPlace(run: JobRun): Promise<never>;
}

/** How stale the view of what waits in a queue may be. */
export const WATCH_MS = 10;

const PRIORITY_UNIT = 2 ** 32;

/**
 * What waits in a queue ahead of a batch job of priority p: interactive jobs (BullMQ's plain wait list, taken
 * before any prioritized job) or a prioritized job of a priority below p. BullMQ scores a prioritized job
 * priority × 2^32 + a counter, and job-runner's keepPlace scores one it moved back priority × 2^32 - 2^31 + a
 * time: either way the priority is the score rounded to the nearest multiple of 2^32 (counters below 2^31).
 * One LLEN and one ZRANGE at most every WATCH_MS, shared by every batch job of the queue in this worker; it
 * never waits: it answers what it last saw.
 */
export class QueueWatch {
  private interactive = false;
  private best = Number.POSITIVE_INFINITY;
  private checkedAt = 0;
  private checking = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly queueKey: string,
  ) {}

  /** True when a job that BullMQ would hand out before one of `priority` waits. */
  ahead(priority: number): boolean {
    const now = Date.now();
    if (!this.checking && now - this.checkedAt >= WATCH_MS) {
      this.checking = true;
      this.checkedAt = now;
      Promise.all([this.redis.llen(`${this.queueKey}:wait`), this.redis.zrange(`${this.queueKey}:prioritized`, "0", "0", "WITHSCORES")])
        .then(([waiting, first]) => {
          this.interactive = waiting > 0;
          this.best = first.length < 2 ? Number.POSITIVE_INFINITY : Math.floor((Number(first[1]) + PRIORITY_UNIT / 2) / PRIORITY_UNIT);
        })
        .catch(() => undefined)
        .finally(() => (this.checking = false));
    }
    return this.interactive || this.best < priority;
  }
}

/**
 * Per processor: the watches of its queues, and the queues an item retried alone is added to. Those queues use
 * `queueConnection` (the Worker's, where BullMQ's scripts are defined already), never llmq's own commands
 * connection: ioredis copies every script defined on a connection into each MULTI it builds there.
 */
export class GroupRunState {
  private readonly watches = new Map<string, QueueWatch>();
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly queueConnection: RedisConnection,
  ) {}

  watch(job: LlmqJob): QueueWatch {
    const key = job.queueQualifiedName;
    let w = this.watches.get(key);
    if (w === undefined) this.watches.set(key, (w = new QueueWatch(this.redis, key)));
    return w;
  }

  queue(job: LlmqJob): Queue {
    const key = job.queueQualifiedName;
    let q = this.queues.get(key);
    if (q === undefined) this.queues.set(key, (q = new Queue(job.queueName, { connection: this.queueConnection, prefix: job.prefix })));
    return q;
  }
}

export async function runBatchGroup(deps: RunnerDeps, job: LlmqJob, token: string | undefined, signal: AbortSignal | undefined, runner: GroupItemRunner, state: GroupRunState): Promise<JobReturn> {
  const data = job.data as unknown as BatchGroupData;
  const hooks: GroupHooks = { retryAlone: (run, retryAfterMs) => retryAlone(state.queue(job), run, retryAfterMs) };
  const watch = state.watch(job);
  const priority = job.opts.priority ?? 0;
  let ran = 0;
  for (const item of data.items) {
    const run = itemRun(deps, job, token, signal, item.index, item.payload, hooks);
    // BullMQ can still hand out a job while its close() interrupts a blocking fetch; give it back.
    if (deps.isClosing()) return runner.handBack(run, 0, "batch job handed back: worker is shutting down");
    if (ran > 0 && watch.ahead(priority)) {
      deps.logger.debug({ job_id: String(job.id), batch_id: data.batch_id, ran }, "batch job gives its slot to a job waiting ahead of it");
      return runner.keepPlace(run);
    }
    const gate = await runner.starts.start(run.id, run.payload);
    if (gate !== "run") {
      runner.skipped(run, gate);
      continue;
    }
    await runner.attempt(run);
    ran++;
  }
  return { stored: true };
}

function itemRun(deps: RunnerDeps, job: LlmqJob, token: string | undefined, signal: AbortSignal | undefined, index: number, payload: JobPayload, group: GroupHooks): JobRun {
  const started = Date.now();
  return {
    deps, job, token, signal, group,
    id: batchItemJobId(payload.batch_id ?? "", index, payload.batch_round ?? 0),
    payload,
    attempt: 1 + (payload.batch_attempts ?? 0),
    maxAttempts: job.opts.attempts ?? 1,
    started,
    // Its own start, not the job's: the items before it in the job ran in between.
    firstStart: started,
  };
}

/** The item as a job of its own (the id a one-item batch job has), delayed by the backoff of its next attempt. */
async function retryAlone(queue: Queue, run: JobRun, retryAfterMs: number | undefined): Promise<void> {
  const { job, payload, attempt } = run;
  const delay = retryDelay(attempt, run.deps.config.jobs.backoffMs, retryAfterMs);
  const { attempts, backoff, priority, removeOnComplete, removeOnFail } = job.opts;
  await queue.add(payload.type, { ...payload, batch_attempts: attempt }, { attempts, backoff, priority, removeOnComplete, removeOnFail, jobId: run.id, delay });
}
