import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { createKeys, createLogger, parseConfig, type BatchResultLine, type BatchView, type Config, type Keys } from "@llmq/shared";
import { deletePrefix, testPrefix } from "@llmq/shared/testing";
// Tests only: the API never imports the worker or the simulator.
import { createSimulator, type Simulator } from "../../../simulator/src/index.js";
import { createWorkerService, type WorkerService } from "../../../worker/src/index.js";
import { createApp } from "../../src/app.js";
import { createApiRuntime, type ApiRuntime } from "../../src/runtime.js";

/**
 * A private llmq in this process for the batch tests: the simulator, the API on port 0 and real worker
 * services, under a Redis prefix of their own that close() deletes.
 */
export const KEYS = { alice: "key-alice", bob: "key-bob" } as const;

export interface BatchHarness {
  url: string;
  config: Config;
  keys: Keys;
  redis: Redis;
  sim: Simulator;
  simUrl: string;
  runtime: ApiRuntime;
  workers: WorkerService[];
  env: Record<string, string>;
  /** Starts one more worker service (all providers) on the same Redis and prefix. */
  addWorker(extraEnv?: Record<string, string>): Promise<WorkerService>;
  request(method: string, path: string, opts?: { key?: string; body?: string; contentType?: string }): Promise<Response>;
  submit(requests: unknown[], opts?: { key?: string; metadata?: Record<string, string> }): Promise<Response>;
  view(id: string, key?: string): Promise<BatchView>;
  /** Polls until the batch is final; every poll checks that the counts add up to the total. Returns every view seen. */
  waitFinal(id: string, timeoutMs?: number, key?: string): Promise<{ final: BatchView; polls: BatchView[] }>;
  results(id: string, status?: string, key?: string): Promise<BatchResultLine[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  sim?: Parameters<typeof createSimulator>[0];
  /** Worker services started with the harness (default 1). */
  workers?: number;
}

export async function startBatchHarness(name: string, opts: HarnessOptions = {}): Promise<BatchHarness> {
  const sim = createSimulator({ retryAfterMs: 50, ...opts.sim });
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  const env: Record<string, string> = {
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: testPrefix(name),
    API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: simUrl,
    JOB_BACKOFF_MS: "10",
    WORKER_CONCURRENCY: "8",
    PROVIDER_TIMEOUT_MS: "10000",
    BATCH_FEED_INTERVAL_MS: "20",
    LOG_LEVEL: "silent",
    ...opts.env,
  };
  const config = parseConfig(env);
  const keys = createKeys(config.redis.prefix);
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const logger = createLogger({ service: "api", level: "silent" });
  const runtime = createApiRuntime(config, logger, { defaultMetrics: false });
  await runtime.start(5000);
  const server: Server = createServer(createApp(runtime.deps));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const workers: WorkerService[] = [];
  const addWorker = async (extraEnv: Record<string, string> = {}): Promise<WorkerService> => {
    const wconfig = parseConfig({ ...env, ...extraEnv });
    const service = createWorkerService({ config: wconfig, logger: createLogger({ service: "worker", level: "silent" }) });
    await service.start();
    workers.push(service);
    return service;
  };
  for (let i = 0; i < (opts.workers ?? 1); i++) await addWorker();

  const request: BatchHarness["request"] = (method, path, o = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: { "x-api-key": o.key ?? KEYS.alice, ...(o.body !== undefined && { "content-type": o.contentType ?? "application/json" }) },
      ...(o.body !== undefined && { body: o.body }),
    });

  const view = async (id: string, key?: string): Promise<BatchView> => {
    const res = await request("GET", `/api/v1/batches/${id}`, { key });
    if (res.status !== 200) throw new Error(`GET batch ${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as BatchView;
  };

  return {
    url, config, keys, redis, sim, simUrl, runtime, workers, env, addWorker, request, view,
    submit: (requests, o = {}) => request("POST", "/api/v1/batches", { key: o.key, body: JSON.stringify({ requests, ...(o.metadata && { metadata: o.metadata }) }) }),
    async waitFinal(id, timeoutMs = 30_000, key) {
      const polls: BatchView[] = [];
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const v = await view(id, key);
        polls.push(v);
        const c = v.counts;
        if (c.queued + c.active + c.completed + c.failed + c.cancelled !== c.total) throw new Error(`counts do not add up: ${JSON.stringify(c)}`);
        if (v.finished_at !== undefined) return { final: v, polls };
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`batch ${id} not final within ${timeoutMs} ms: ${JSON.stringify(polls.at(-1))}`);
    },
    async results(id, status, key) {
      const res = await request("GET", `/api/v1/batches/${id}/results${status ? `?status=${status}` : ""}`, { key });
      if (res.status !== 200) throw new Error(`GET results ${id}: ${res.status} ${await res.text()}`);
      const text = await res.text();
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as BatchResultLine);
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
      await sim.close();
      await deletePrefix(redis, config.redis.prefix);
      await redis.quit();
    },
  };
}

/** A mixed item: structured, unstructured or conversation by i % 3, over the three providers. */
export const MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant"] as const;
export const USER_SCHEMA = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };

export function mixedItem(i: number, extra = ""): { custom_id: string; type: string; body: Record<string, unknown> } {
  const model = MODELS[i % MODELS.length] as string;
  const custom_id = `item-${i}`;
  switch (i % 3) {
    case 0:
      return { custom_id, type: "unstructured", body: { model, prompt: `Write one sentence about item ${i}.${extra}`, max_tokens: 50 } };
    case 1:
      return { custom_id, type: "structured", body: { model, prompt: `Generate user ${i} with a name and an age${extra}`, max_tokens: 100, schema: USER_SCHEMA } };
    default:
      return {
        custom_id,
        type: "conversation",
        body: { model, max_tokens: 50, messages: [{ role: "user", content: `Hello, I am user ${i}.` }, { role: "assistant", content: "Hello! How can I help?" }, { role: "user", content: `Tell me a fact about the sea.${extra}` }] },
      };
  }
}
