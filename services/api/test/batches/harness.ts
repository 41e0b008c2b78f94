import { createLogger, parseConfig, type BatchResultLine, type BatchView } from "@llmq/shared";
// Tests only: the API never imports the worker.
import { createWorkerService, type WorkerService } from "../../../worker/src/index.js";
import { testRedisEnv } from "../../../../test/redis-target.js";
import { startStack, type Reply, type Stack, type StackOptions, type Who } from "../helpers.js";

/**
 * The API engineer's test stack (API on port 0, real Redis, in-process simulator) with batch helpers on top:
 * any number of worker services on the same Redis and prefix, submitting, polling with the counts checked
 * at every poll, and reading results.
 */
export interface BatchHarness {
  stack: Stack;
  /** The environment every service of this harness was configured from. */
  env: Record<string, string>;
  workers: WorkerService[];
  /** Starts one more worker service (all providers) on the same Redis and prefix. */
  addWorker(extraEnv?: Record<string, string>): Promise<WorkerService>;
  submit(requests: unknown[], opts?: { as?: Who; metadata?: Record<string, string> }): Promise<Reply>;
  view(id: string, as?: Who): Promise<BatchView>;
  /** Polls until the batch is final; every poll checks that the counts add up to the total. Returns every view seen. */
  waitFinal(id: string, timeoutMs?: number): Promise<{ final: BatchView; polls: BatchView[] }>;
  results(id: string, status?: string): Promise<BatchResultLine[]>;
  close(): Promise<void>;
}

export interface HarnessOptions extends Pick<StackOptions, "sim"> {
  env?: Record<string, string>;
  /** Worker services started with the harness (default 1). */
  workers?: number;
}

export async function startBatchHarness(name: string, opts: HarnessOptions = {}): Promise<BatchHarness> {
  const stack = await startStack(name, { env: { BATCH_FEED_INTERVAL_MS: "20", ...opts.env }, worker: false, ...(opts.sim && { sim: opts.sim }) });
  const env: Record<string, string> = {
    ...testRedisEnv(),
    REDIS_PREFIX: stack.config.redis.prefix,
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: stack.simUrl,
    JOB_BACKOFF_MS: "10",
    WORKER_CONCURRENCY: "8",
    WORKER_SHUTDOWN_GRACE_MS: "2000",
    PROVIDER_TIMEOUT_MS: "10000",
    BATCH_FEED_INTERVAL_MS: "20",
    ...opts.env,
  };
  const workers: WorkerService[] = [];
  const addWorker = async (extraEnv: Record<string, string> = {}): Promise<WorkerService> => {
    const service = createWorkerService({ config: parseConfig({ ...env, ...extraEnv }), logger: createLogger({ service: "worker", level: "silent" }) });
    await service.start();
    workers.push(service);
    return service;
  };
  for (let i = 0; i < (opts.workers ?? 1); i++) await addWorker();

  const view = async (id: string, as: Who = "alice"): Promise<BatchView> => {
    const res = await stack.request(`/api/v1/batches/${id}`, { as });
    if (res.status !== 200) throw new Error(`GET batch ${id}: ${res.status} ${res.text}`);
    return res.body as BatchView;
  };

  return {
    stack,
    env,
    workers,
    addWorker,
    view,
    submit: (requests, o = {}) => stack.request("/api/v1/batches", { as: o.as ?? "alice", body: { requests, ...(o.metadata && { metadata: o.metadata }) } }),
    async waitFinal(id, timeoutMs = 30_000) {
      const polls: BatchView[] = [];
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const v = await view(id);
        polls.push(v);
        assertCountsAddUp(v);
        if (v.finished_at !== undefined) return { final: v, polls };
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`batch ${id} not final within ${timeoutMs} ms: ${JSON.stringify(polls.at(-1))}`);
    },
    async results(id, status) {
      const res = await stack.request(`/api/v1/batches/${id}/results${status ? `?status=${status}` : ""}`);
      if (res.status !== 200) throw new Error(`GET results ${id}: ${res.status} ${res.text}`);
      return parseLines(res.text);
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await stack.close();
    },
  };
}

export function assertCountsAddUp(v: BatchView): void {
  const c = v.counts;
  if (c.queued + c.active + c.completed + c.failed + c.cancelled !== c.total || Object.values(c).some((n) => n < 0)) {
    throw new Error(`counts do not add up: ${JSON.stringify(c)}`);
  }
}

export function parseLines(text: string): BatchResultLine[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as BatchResultLine);
}

/** A mixed item: unstructured, structured or conversation by i % 3, each on each provider's model in turn (every 9 items cover all 9 pairs). */
export const MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant"] as const;
export const USER_SCHEMA = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };

export function mixedItem(i: number, extra = ""): { custom_id: string; type: string; body: Record<string, unknown> } {
  const model = MODELS[(i + Math.floor(i / 3)) % MODELS.length] as string;
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

/** Polls `check` every 20 ms until it returns something other than undefined; throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
