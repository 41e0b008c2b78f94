import { hostname } from "node:os";
import { Worker } from "bullmq";
import type { RedisConnection } from "@llmq/shared";
import {
  closeQuietly,
  coalesceWrites,
  createKeys,
  createWorkerConnection,
  ModelRegistry,
  PROVIDERS,
  QUEUE_NAMES,
  SYNC_GROUP_JOB,
  SchemaGuard,
  type Config,
  type Logger,
  type ProviderName,
} from "@llmq/shared";
import { createBackoffStrategy } from "./backoff.js";
import { BatchItemStarts, failLostBatchJob } from "./batches/batch-item.js";
import { CapacityGate } from "./capacity/capacity-gate.js";
import { createHeapGrowth, RELAXED_PERCENT, type HeapGrowth } from "./heap-growth.js";
import { BatchFeeder } from "./batches/feeder.js";
import { createJobProcessor, SHUTDOWN_REASON, type JobReturn, type LlmqJob, type RunnerDeps } from "./job-runner.js";
import { noopMetrics, type WorkerMetrics } from "./metrics.js";
import { createProviderAdapter } from "./providers/registry.js";
import type { ProviderAdapter } from "./providers/types.js";
import { StructuredPlans } from "./structured/structured-plan.js";
import { failLostSyncGroup } from "./sync-group.js";

/**
 * One BullMQ Worker per provider queue, so one provider's rate limit or outage never stalls another's jobs,
 * and a batch feeder (batches/feeder.ts) that moves batch items into those queues as they drain.
 *
 * Connections: one shared ioredis connection (maxRetriesPerRequest: null) carries the Workers' non-blocking
 * commands and llmq's result writes; BullMQ duplicates it for each Worker's blocking connection.
 *
 * close(): stop taking jobs and let active ones finish within WORKER_SHUTDOWN_GRACE_MS. BullMQ v6's
 * `close()` memoises its first call (a later `close(true)` does not force anything), so after the grace
 * period the active jobs are aborted through their AbortSignal instead: the runner hands each one back to
 * the queue (moveToDelayed, no attempt spent) and the pending close completes. Every step runs even if
 * one throws; calling close() again returns the same promise.
 * Invariant: close() never waits for Redis longer than the grace period plus FORCE_CLOSE_MS. Closing and
 * handing back need Redis, and a worker connection waits for it forever (maxRetriesPerRequest: null, no
 * command timeout): a Redis that stopped answering would hold the process forever. Past that bound the
 * connections are dropped and the jobs still held are named in the log; they stay active in Redis until
 * BullMQ's stalled-job check gives them to another worker (WORKER_LOCK_DURATION_MS after their last lock).
 */
export interface WorkerServiceDeps {
  config: Config;
  /** The root logger (`createLogger({service: "worker"})`). */
  logger: Logger;
  registry?: ModelRegistry;
  metrics?: WorkerMetrics;
  /** Which provider queues to serve; all by default. */
  providers?: readonly ProviderName[];
  /** Run a batch feeder for those queues (default true). */
  batchFeeder?: boolean;
  /** This worker's name in BullMQ (jobs' `processedBy`, the queue's worker list, health): default `host:pid`. */
  identity?: string;
  /** How far the heap may grow, by the calls held (heap-growth.ts): default from the process's own start flags. */
  heapGrowth?: HeapGrowth;
}

export interface WorkerService {
  readonly workers: ReadonlyMap<ProviderName, LlmqWorker>;
  readonly adapters: ReadonlyMap<ProviderName, ProviderAdapter>;
  readonly feeder: BatchFeeder | undefined;
  /** The shared connection (for startup checks; the service closes it). */
  readonly redis: RedisConnection;
  /** Resolves once every Worker is connected and taking jobs. */
  start(): Promise<void>;
  close(): Promise<CloseReport>;
}

export interface CloseReport {
  /** False when the workers did not close within the grace period and the hand-back window: connections were dropped. */
  clean: boolean;
  /** The jobs still held then: not handed back, they come back through BullMQ's stalled-job check. */
  left: string[];
}

/** How long aborted jobs get to hand themselves back once the grace period is over. */
export const FORCE_CLOSE_MS = 5_000;
/**
 * A limiter no real load reaches: BullMQ only honours a manual `rateLimit()` when a limiter is set. Provider
 * limits are the capacity buckets' (capacity/), shared by every worker and counted in requests and tokens.
 */
const UNLIMITED = { max: 1_000_000_000, duration: 1_000 };

export function createWorkerService(deps: WorkerServiceDeps): WorkerService {
  const { config } = deps;
  const logger = deps.logger;
  const registry = deps.registry ?? ModelRegistry.load(config.modelsFile);
  const metrics = deps.metrics ?? noopMetrics;
  const keys = createKeys(config.redis.prefix);
  const guard = new SchemaGuard(config.schema);
  const plans = new StructuredPlans(config.schema.cacheSize);
  const redis: RedisConnection = createWorkerConnection(config.redis);
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis connection error"));
  // llmq's own commands (results, job state, batch steps) get a connection of their own: BullMQ defines its
  // 64 scripts on the one it is given, and ioredis copies every defined script into each pipeline or MULTI it
  // builds (about 55 µs each; measured: a third of the worker's final-write CPU). Neither auto-pipelines: with
  // writes coalesced, commands sent one by one cost no more CPU than ioredis's pipeline per event-loop turn at
  // any burst size measured (1 to 256 commands a turn), and less at most, with scripts on the connection or
  // without (npm run bench:redis-writes).
  const commands: RedisConnection = createWorkerConnection(config.redis);
  commands.on("error", (err: Error) => logger.warn({ err: err.message }, "redis connection error"));
  // Commands sent while earlier ones await their replies leave together, in one write (coalesce-writes.ts).
  coalesceWrites(redis);
  coalesceWrites(commands);

  let started: Promise<void> | undefined;
  let closing: Promise<CloseReport> | undefined;
  const workers = new Map<ProviderName, LlmqWorker>();
  const adapters = new Map<ProviderName, ProviderAdapter>();
  const identity = deps.identity ?? workerIdentity();
  // One for the process: items of a batch that start together, whichever provider queue handed them out, share a script.
  const batchStarts = new BatchItemStarts(commands, keys, config.jobs.resultTtlS);
  const heapGrowth =
    deps.heapGrowth ??
    createHeapGrowth(undefined, undefined, (mode, held) =>
      logger.info({ held_calls: held, heap_growth: mode }, mode === "bounded" ? "many calls held: heap growth back to the start flag's bound" : `few calls held: heap growth relaxed to ${RELAXED_PERCENT} %`),
    );
  const shared = { config, logger, registry, metrics, keys, guard, plans, redis, commands, identity, batchStarts, heapGrowth, isClosing: () => closing !== undefined };
  for (const provider of deps.providers ?? PROVIDERS) {
    const { worker, adapter } = createProviderWorker(provider, shared);
    workers.set(provider, worker);
    adapters.set(provider, adapter);
  }

  const served = [...workers.keys()];
  const feeder = deps.batchFeeder === false || served.length === 0 ? undefined : new BatchFeeder({ config, keys, redis, logger: logger.child({ component: "batch-feeder" }), providers: served });

  const start = (): Promise<void> =>
    (started ??= (async () => {
      for (const [provider, worker] of workers) {
        worker.run().catch((err: unknown) => logger.error({ provider, err: (err as Error).message }, "worker stopped with an error"));
      }
      await Promise.all([...workers.values()].map((w) => w.waitUntilReady()));
      await feeder?.start();
    })());

  /** True when the feeder and every Worker closed within the grace period and the hand-back window. */
  const closeWorkers = async (): Promise<boolean> => {
    const all = [...workers.values()];
    // The feeder closes alongside: a feed pass waiting on Redis must not keep the Workers taking jobs.
    const done = Promise.allSettled([feeder?.close(), ...all.map((w) => w.close())]);
    if (await within(done, config.worker.shutdownGraceMs)) return true;
    logger.warn({ grace_ms: config.worker.shutdownGraceMs }, "active jobs outlived the shutdown grace period; handing them back to the queue");
    for (const w of all) w.cancelAllJobs(SHUTDOWN_REASON);
    return within(done, FORCE_CLOSE_MS);
  };

  /** Stops waiting for Redis: every connection dropped, its pending commands failed. Returns the jobs left. */
  const abandon = (): string[] => {
    const left = [...workers.values()].flatMap((w) => [...w.held]);
    logger.error(
      { job_ids: left, grace_ms: config.worker.shutdownGraceMs, force_close_ms: FORCE_CLOSE_MS },
      `workers did not close within the grace period and the hand-back window (Redis not answering?): disconnecting; ${left.length} active job(s) left for BullMQ's stalled-job recovery`,
    );
    feeder?.disconnect();
    commands.disconnect();
    redis.disconnect();
    // The Workers' own blocking connections; not awaited: a socket to a stopped Redis takes a while to end.
    for (const w of workers.values()) w.disconnect().catch(() => undefined);
    return left;
  };

  const close = (): Promise<CloseReport> =>
    (closing ??= (async () => {
      let clean = false;
      let left: string[] = [];
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["workers", async () => (clean = await closeWorkers())],
        ["disconnect", async () => (left = clean ? [] : abandon())],
        ["providers", () => Promise.allSettled([...adapters.values()].map((a) => a.close()))],
        ["redis", async () => clean && Promise.all([closeQuietly(commands), closeQuietly(redis)])],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          logger.error({ step: name, err: (err as Error).message }, "shutdown step failed");
        }
      }
      return { clean, left };
    })());

  return { workers, adapters, feeder, redis, start, close };
}

/**
 * A Worker that knows which jobs it holds: from BullMQ handing one out until BullMQ has moved it on. The process's
 * count of calls held sets how far its heap may grow (heap-growth.ts).
 */
class LlmqWorker extends Worker<LlmqJob["data"], JobReturn, string> {
  readonly held = new Set<string>();
  heapGrowth: HeapGrowth | undefined;

  override async processJob(job: LlmqJob, token: string, fetchNextCallback?: () => boolean): Promise<void | LlmqJob> {
    const id = String(job.id);
    this.held.add(id);
    this.heapGrowth?.enter();
    try {
      return await super.processJob(job, token, fetchNextCallback);
    } finally {
      this.held.delete(id);
      this.heapGrowth?.leave();
    }
  }
}

interface ProviderWorkerDeps extends Omit<RunnerDeps, "adapter" | "redis" | "logger" | "rateLimit" | "capacity"> {
  /** The connection the Worker is given (BullMQ duplicates it for blocking calls). */
  redis: RedisConnection;
  /** llmq's own commands: results, job state, batch steps. */
  commands: RedisConnection;
  logger: Logger;
  identity: string;
  heapGrowth: HeapGrowth;
}

/** One provider queue's Worker and adapter. Not started (autorun: false). */
function createProviderWorker(provider: ProviderName, deps: ProviderWorkerDeps): { worker: LlmqWorker; adapter: ProviderAdapter } {
  const { config, redis, keys } = deps;
  const queue = QUEUE_NAMES[provider];
  const log = deps.logger.child({ queue, provider });
  const adapter = createProviderAdapter(config, provider, log);
  const capacity = new CapacityGate({ config, redis: deps.commands, keys, metrics: deps.metrics, logger: log, provider });
  let worker: LlmqWorker | undefined;
  const processor = createJobProcessor({
    config, registry: deps.registry, adapter, guard: deps.guard, plans: deps.plans, redis: deps.commands, queueConnection: redis, keys, logger: log, metrics: deps.metrics, capacity,
    rateLimit: (ms) => (worker as LlmqWorker).rateLimit(ms),
    isClosing: deps.isClosing,
    ...(deps.batchStarts !== undefined && { batchStarts: deps.batchStarts }),
  });
  worker = new LlmqWorker(queue, processor, {
    connection: redis,
    prefix: keys.queuePrefix(provider),
    name: deps.identity,
    autorun: false,
    concurrency: config.providers[provider].concurrency,
    limiter: UNLIMITED,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    settings: { backoffStrategy: createBackoffStrategy(config.jobs.backoffMs) },
  });
  worker.heapGrowth = deps.heapGrowth;
  worker.on("error", (err) => log.error({ err: err.message }, "worker error"));
  worker.on("failed", (job, err) => {
    // A sync job of several requests BullMQ failed outside the runner: its requests get records of their own.
    if (job?.name === SYNC_GROUP_JOB && job.finishedOn) {
      failLostSyncGroup({ redis: deps.commands, keys, config }, job, err.message.slice(0, 500))
        .then((stored) => stored > 0 && log.warn({ job_id: job.id, requests: stored }, "sync job failed outside the runner; its requests stored as failed"))
        .catch((e: unknown) => log.error({ job_id: job.id, err: (e as Error).message }, "could not store the requests of a lost sync job"));
      return;
    }
    // A batch item BullMQ failed before the runner stored it still has to count, or its batch never ends; so do
    // the items of a batch job of several items that were not final yet.
    if (job?.data.batch_id === undefined || !job.finishedOn) return;
    const error = { code: "INTERNAL" as const, message: err.message.slice(0, 500) };
    failLostBatchJob(redis, keys, String(job.id), job.name, job.data, error, config.jobs.resultTtlS)
      .then((stored) => stored > 0 && log.warn({ job_id: job.id, batch_id: job.data.batch_id, items: stored }, "batch item failed outside the runner; stored as failed"))
      .catch((e: unknown) => log.error({ job_id: job.id, err: (e as Error).message }, "could not store a lost batch item"));
  });
  return { worker, adapter };
}

/** How a worker process is known to operators: its host and pid. */
export function workerIdentity(): string {
  return `${hostname()}:${process.pid}`;
}

/** True if `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
