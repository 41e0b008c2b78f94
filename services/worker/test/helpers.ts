import { Queue } from "bullmq";
import {
  createKeys,
  createLogger,
  defaultJobOptions,
  hashJson,
  parseConfig,
  QUEUE_NAMES,
  type Config,
  type FinalJobRecord,
  type JobPayload,
  type Keys,
  type Logger,
  type ModelRegistry,
  type ProviderName,
  type RedisConnection,
} from "@llmq/shared";
import { connectTestRedis, testRedisEnv } from "../../../test/redis-target.js";
import { deletePrefix, GUIDE_SCHEMAS, testPrefix } from "@llmq/shared/testing";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
// Tests only: the worker's own code never imports the simulator.
import { createSimulator, type SimStats, type Simulator } from "../../simulator/src/index.js";
import { createWorkerService, type WorkerService } from "../src/index.js";
import type { HeapGrowth } from "../src/heap-growth.js";

/** The guide's three structured-output schemas (seed/performance-testing-guide.md). */
export const SIMPLE_USER = GUIDE_SCHEMAS.simple;
export const NESTED_PROFILE = GUIDE_SCHEMAS.nested;
export const USER_ARRAY = GUIDE_SCHEMAS.array;

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** A pino logger whose lines tests can read. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  return { logger: createLogger({ service: "worker", level: "info", destination }), lines };
}

export interface Harness {
  config: Config;
  keys: Keys;
  redis: RedisConnection;
  sim: Simulator;
  simUrl: string;
  service: WorkerService;
  logs: LogLine[];
  queue(provider: ProviderName): Queue;
  /** Enqueues a job the way the API does and returns its id. */
  enqueue(job: EnqueueInput, opts?: { jobId?: string }): Promise<string>;
  /** Waits until the job's FinalJobRecord is stored. */
  waitForRecord(jobId: string, timeoutMs?: number): Promise<FinalJobRecord>;
  stats(): Promise<SimStats>;
  close(): Promise<void>;
}

export type EnqueueInput =
  | { type: "unstructured"; model: string; prompt: string; system?: string; max_tokens?: number; cache_key?: string }
  | { type: "structured"; model: string; prompt: string; schema: Record<string, unknown> | boolean; system?: string; max_tokens?: number }
  | { type: "conversation"; model: string; messages: Array<{ role: "system" | "user" | "assistant"; content: string }>; max_tokens?: number };

export interface HarnessOptions {
  env?: Record<string, string>;
  registry?: ModelRegistry;
  sim?: Parameters<typeof createSimulator>[0];
  providers?: ProviderName[];
  start?: boolean;
  heapGrowth?: HeapGrowth;
}

export async function startHarness(name: string, opts: HarnessOptions = {}): Promise<Harness> {
  const sim = createSimulator({ retryAfterMs: 200, ...opts.sim });
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  const config = parseConfig({
    ...testRedisEnv(),
    REDIS_PREFIX: testPrefix(name),
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: simUrl,
    JOB_BACKOFF_MS: "10",
    WORKER_CONCURRENCY: "4",
    PROVIDER_TIMEOUT_MS: "10000",
    ...opts.env,
  });
  const keys = createKeys(config.redis.prefix);
  const redis = connectTestRedis();
  const { logger, lines } = captureLogger();
  const service = createWorkerService({ config, logger, providers: opts.providers, ...(opts.registry ? { registry: opts.registry } : {}), ...(opts.heapGrowth && { heapGrowth: opts.heapGrowth }) });
  if (opts.start !== false) await service.start();
  const queues = new Map<ProviderName, Queue>();
  const queue = (p: ProviderName): Queue => {
    let q = queues.get(p);
    if (q === undefined) {
      q = new Queue(QUEUE_NAMES[p], { connection: redis, prefix: keys.queuePrefix(p) });
      q.on("error", () => undefined);
      queues.set(p, q);
    }
    return q;
  };
  const providerOf = (model: string): ProviderName => {
    if (/^(claude)/.test(model)) return "anthropic";
    if (/^(llama|openai\/)/.test(model)) return "groq";
    return "openai";
  };

  return {
    config,
    keys,
    redis,
    sim,
    simUrl,
    service,
    logs: lines,
    queue,
    async enqueue(input, o = {}) {
      const provider = providerOf(input.model);
      const jobId = o.jobId ?? randomUUID();
      const envelope = { model: input.model, provider, owner: "test-owner", request_id: randomUUID(), created_at: Date.now() };
      let payload: JobPayload;
      if (input.type === "conversation") {
        payload = { ...envelope, type: "conversation", messages: input.messages, ...(input.max_tokens ? { max_tokens: input.max_tokens } : {}) };
      } else if (input.type === "structured") {
        payload = {
          ...envelope, type: "structured", messages: [{ role: "user", content: input.prompt }], schema: input.schema, schema_hash: hashJson(input.schema),
          ...(input.system ? { system: input.system } : {}), ...(input.max_tokens ? { max_tokens: input.max_tokens } : {}),
        };
      } else {
        payload = {
          ...envelope, type: "unstructured", messages: [{ role: "user", content: input.prompt }],
          ...(input.system ? { system: input.system } : {}), ...(input.max_tokens ? { max_tokens: input.max_tokens } : {}),
          ...(input.cache_key ? { cache_key: input.cache_key } : {}),
        };
      }
      await queue(provider).add(payload.type, payload, { jobId, ...defaultJobOptions(config) });
      return jobId;
    },
    async waitForRecord(jobId, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const raw = await redis.get(keys.result(jobId));
        if (raw !== null) return JSON.parse(raw) as FinalJobRecord;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no final record for job ${jobId} within ${timeoutMs} ms`);
    },
    async stats() {
      const res = await fetch(`${simUrl}/__sim/stats`);
      return (await res.json()) as SimStats;
    },
    async close() {
      await service.close();
      for (const q of queues.values()) await q.close();
      await sim.close();
      await deletePrefix(redis, config.redis.prefix);
      await redis.quit();
    },
  };
}

/** Calls to chat routes (completions/messages), from the simulator's own counters. */
export function chatCalls(stats: SimStats): number {
  return Object.entries(stats.by_route)
    .filter(([route]) => /chat_completions|messages/.test(route))
    .reduce((n, [, v]) => n + v, 0);
}

/** A prompt no other test sends: the simulator counts marker faults per exact prompt text. */
export function unique(prompt: string): string {
  return `${prompt} (${randomUUID().slice(0, 8)})`;
}

/** Polls a job's BullMQ state; the record is written before BullMQ hears the outcome. */
export async function waitForState(queue: Queue, jobId: string, state: string, timeoutMs = 5_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "missing";
  while (Date.now() < deadline) {
    const job = await queue.getJob(jobId);
    last = job === undefined ? "missing" : await job.getState();
    if (last === state) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  return last;
}
