import {
  ModelRegistry,
  SchemaGuard,
  closeQuietly,
  createKeys,
  coalesceWrites,
  createProducerConnection,
  createWorkerConnection,
  isCluster,
  type Config,
  type Logger,
} from "@llmq/shared";
import type { AppDeps } from "./app.js";
import { closeJobQueues, createJobQueues } from "./jobs/job-queues.js";
import { throttledWarn } from "./log-throttle.js";
import { ResultWaiter } from "./jobs/result-waiter.js";
import { StreamReader } from "./compat/stream-reader.js";
import { createApiMetrics } from "./metrics/api-metrics.js";
import { registerQueueMetrics } from "./metrics/queue-metrics.js";

/**
 * The API's long-lived resources: two Redis connections per process (the fail-fast producer shared by the
 * queues and stores, and the one result subscriber), the queues, the waiter, the registry and guard.
 * Nothing here is per request. The producer does not auto-pipeline: ioredis would build a pipeline for every
 * event-loop turn with commands, and a pipeline copies every script defined on its connection, here BullMQ's 64
 * (about 55 µs each, against 2 µs on a bare connection). Its writes are coalesced instead (coalesce-writes.ts):
 * commands issued while earlier ones await their replies leave together, as auto-pipelining's did.
 */
export interface ApiRuntime {
  deps: AppDeps;
  /** Subscribes to done messages; resolves when subscribed or after `timeoutMs` (Redis down: keeps trying). */
  start(timeoutMs?: number): Promise<boolean>;
  /** Idempotent; every step runs even if one fails. */
  close(): Promise<void>;
}

export function createApiRuntime(config: Config, logger: Logger, options: { defaultMetrics?: boolean } = {}): ApiRuntime {
  const redis = createProducerConnection(config.redis, { connectionName: "llmq-api" });
  const subscriber = createWorkerConnection(config.redis, { connectionName: "llmq-api-results", autoResubscribe: false });
  redis.on("error", throttledWarn(logger, "redis connection error"));
  // Commands sent while earlier ones await their replies leave together, in one write (coalesce-writes.ts).
  coalesceWrites(redis);
  subscriber.on("error", throttledWarn(logger, "redis subscriber error"));
  const metrics = createApiMetrics(options);
  const waiter = new ResultWaiter(subscriber, redis, createKeys(config.redis.prefix), logger, (n) => metrics.syncWaiters.set(n));
  const queues = createJobQueues(redis, config, logger);
  const streams = new StreamReader(() => {
    const conn = createWorkerConnection(config.redis, { connectionName: "llmq-api-streams" });
    conn.on("error", throttledWarn(logger, "redis stream reader error"));
    return conn;
  }, redis, logger, !isCluster(redis));
  registerQueueMetrics(metrics.registry, queues);
  const deps: AppDeps = {
    config,
    logger,
    redis,
    queues,
    waiter,
    streams,
    models: ModelRegistry.load(config.modelsFile),
    schemaGuard: new SchemaGuard(config.schema),
    metrics,
    lifecycle: { draining: false },
    startedAt: Date.now(),
  };

  let closing: Promise<void> | undefined;
  return {
    deps,
    async start(timeoutMs = 5000) {
      const started = waiter.start();
      const deadline = Date.now() + timeoutMs;
      await started;
      while (!waiter.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      return waiter.ready;
    },
    close() {
      closing ??= (async () => {
        waiter.close();
        streams.close();
        await closeJobQueues(queues).catch(() => undefined);
        await closeQuietly(subscriber);
        await closeQuietly(redis);
      })();
      return closing;
    },
  };
}
