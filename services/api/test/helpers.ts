import { createServer, type Server } from "node:http";
import type { Express } from "express";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { Queue } from "bullmq";
import { inject } from "vitest";
import { createKeys, createLogger, createWorkerConnection, parseConfig, QUEUE_NAMES, type Config, type FinalJobRecord, type Keys, type ProviderName, type RedisConnection } from "@llmq/shared";
import { deletePrefix, GUIDE_REQUESTS, testPrefix } from "@llmq/shared/testing";
import { connectTestRedis, testRedisEnv } from "../../../test/redis-target.js";
import { createApp } from "../src/app.js";
import { createApiRuntime, type ApiRuntime } from "../src/runtime.js";
// Tests only: the API's own code never imports the worker or the simulator.
import { createSimulator, type SimStats, type Simulator } from "../../simulator/src/index.js";
import { createWorkerService, type WorkerService } from "../../worker/src/index.js";

export const KEYS = { alice: "alice-secret-key", bob: "bob-secret-key" } as const;
export type Who = keyof typeof KEYS;

/** The guide's request bodies (seed/performance-testing-guide.md), sent as written. */
export const GUIDE = GUIDE_REQUESTS;

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  ms: number;
}

export interface RequestOptions {
  method?: string;
  /** Which key to send: a name from KEYS, a raw string, or null for none. Default alice. */
  as?: Who | { raw: string } | { bearer: string } | null;
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Stack {
  url: string;
  /** The Express app under test (for enumerating its routes). */
  app: Express;
  config: Config;
  keys: Keys;
  /** A separate connection for the test's own reads. */
  redis: RedisConnection;
  runtime: ApiRuntime;
  sim: Simulator | undefined;
  simUrl: string;
  worker: WorkerService | undefined;
  logs: Record<string, unknown>[];
  request(path: string, opts?: RequestOptions): Promise<Reply>;
  queue(provider: ProviderName): Queue;
  record(jobId: string): Promise<FinalJobRecord | null>;
  simStats(): Promise<SimStats>;
  /** Provider calls the simulator received (chat routes only). */
  providerCalls(): Promise<number>;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  /** false: no worker (jobs stay queued); a list: a worker for those providers only. Default all. */
  worker?: boolean | ProviderName[];
  sim?: Parameters<typeof createSimulator>[0];
  /** Point the API at this Redis instead of the test Redis (e.g. a dead port). */
  redisUrl?: string;
}

/** The API on port 0 with a real Redis, the real worker and the real simulator in-process. */
export async function startStack(name: string, opts: StackOptions = {}): Promise<Stack> {
  const sim = createSimulator({ retryAfterMs: 200, ...opts.sim });
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  const config = parseConfig({
    API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
    ...(opts.redisUrl !== undefined ? { REDIS_URL: opts.redisUrl } : testRedisEnv()),
    REDIS_PREFIX: testPrefix(`api-${name}`),
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: simUrl,
    JOB_BACKOFF_MS: "10",
    WORKER_CONCURRENCY: "8",
    WORKER_SHUTDOWN_GRACE_MS: "2000",
    PROVIDER_TIMEOUT_MS: "10000",
    ...opts.env,
  });
  const keys = createKeys(config.redis.prefix);
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ service: "api", level: "info", destination });
  const workerLogger = createLogger({ service: "worker", level: "silent" });

  let worker: WorkerService | undefined;
  if (opts.worker !== false) {
    const providers = Array.isArray(opts.worker) ? opts.worker : undefined;
    worker = createWorkerService({ config: opts.redisUrl ? { ...config, redis: { ...config.redis, url: inject("redisUrl") } } : config, logger: workerLogger, ...(providers && { providers }) });
    await worker.start();
  }
  const runtime = createApiRuntime(config, logger, { defaultMetrics: false });
  await runtime.start(opts.redisUrl ? 200 : 5000);
  const app = createApp(runtime.deps);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The test's own connection goes where the services go (a dead REDIS_URL aside: then to the test Redis).
  const redis = opts.redisUrl !== undefined ? connectTestRedis() : createWorkerConnection(config.redis);
  const queues = new Map<ProviderName, Queue>();

  const stack: Stack = {
    url,
    app,
    config,
    keys,
    redis,
    runtime,
    sim,
    simUrl,
    worker,
    logs,
    async request(path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const as = o.as === undefined ? "alice" : o.as;
      if (typeof as === "string") headers["x-api-key"] = KEYS[as];
      else if (as !== null && "raw" in as) headers["x-api-key"] = as.raw;
      else if (as !== null && "bearer" in as) headers.authorization = `Bearer ${as.bearer}`;
      let body: string | Buffer | undefined;
      if (o.rawBody !== undefined) body = o.rawBody;
      else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] ??= "application/json";
      }
      const started = performance.now();
      const res = await fetch(url + path, { method: o.method ?? (body === undefined ? "GET" : "POST"), headers, ...(body !== undefined && { body }) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text, ms: performance.now() - started };
    },
    queue(provider) {
      let q = queues.get(provider);
      if (q === undefined) {
        q = new Queue(QUEUE_NAMES[provider], { connection: redis, prefix: keys.queuePrefix(provider) });
        q.on("error", () => undefined);
        queues.set(provider, q);
      }
      return q;
    },
    async record(jobId) {
      const raw = await redis.get(keys.result(jobId));
      return raw === null ? null : (JSON.parse(raw) as FinalJobRecord);
    },
    async simStats() {
      return (await (await fetch(`${simUrl}/__sim/stats`)).json()) as SimStats;
    },
    async providerCalls() {
      const stats = await stack.simStats();
      return Object.entries(stats.by_route).filter(([route]) => /chat_completions|messages$/.test(route)).reduce((n, [, c]) => n + c, 0);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await worker?.close();
      await sim.close();
      for (const q of queues.values()) await q.close();
      await deletePrefix(redis, config.redis.prefix);
      await redis.quit();
    },
  };
  return stack;
}

/** Every route the app serves, from its router: method and Express path. */
export function appRoutes(app: Express): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push({ method: m.toUpperCase(), path: layer.route.path });
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

/** Polls until `check` returns a value that is not undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A prompt no other test sends, so simulator markers and caches never cross tests. */
export function unique(text: string): string {
  return `${text} (${Math.random().toString(36).slice(2, 10)})`;
}
