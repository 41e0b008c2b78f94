import { afterEach, describe, expect, it } from "vitest";
import { capacityKey, createLogger, type FinalJobRecord } from "@llmq/shared";
import { createWorkerService, type WorkerService } from "../src/index.js";
import { createPromWorkerMetrics } from "../src/prom-metrics.js";
import { chatCalls, startHarness, unique, type Harness } from "./helpers.js";

/**
 * Pacing against a provider that enforces its limits (the simulator's SIM_LIMITS: continuous buckets with one
 * second's capacity, each request charged its prompt plus max_tokens at admission, 429 with the provider's
 * headers). What a user sees: every job completes, the provider (nearly) never answers 429, and no job spends
 * an attempt on waiting.
 */
let h: Harness | undefined;
let extra: WorkerService | undefined;
afterEach(async () => {
  await extra?.close();
  extra = undefined;
  await h?.close();
  h = undefined;
});

interface LimitStats {
  admitted: number;
  rate_limited: number;
  tokens_charged: number;
}

async function limitStats(harness: Harness, key: string): Promise<LimitStats> {
  const stats = (await harness.stats()) as unknown as { limits?: Record<string, LimitStats> };
  return stats.limits?.[key] ?? { admitted: 0, rate_limited: 0, tokens_charged: 0 };
}

async function runJobs(harness: Harness, model: string, n: number, maxTokens: number): Promise<FinalJobRecord[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await harness.enqueue({ type: "unstructured", model, prompt: unique(`Say hello to number ${i}`), max_tokens: maxTokens }));
  return Promise.all(ids.map((id) => harness.waitForRecord(id, 60_000)));
}

// 600 requests and 60,000 tokens a minute: 10 requests and 1,000 tokens a second, one second's burst.
const OPENAI_LIMITS = { "gpt-4": { rpm: 600, tpm: 60_000 } };

describe("capacity buckets against a provider that enforces its limits", () => {
  it("with the limits configured in llmq, a burst four times the budget completes with no 429 and no attempt spent", async () => {
    h = await startHarness("cap-conf", { sim: { limits: OPENAI_LIMITS }, env: { OPENAI_RPM: "600", OPENAI_TPM: "60000", WORKER_CONCURRENCY: "16" } });
    // ~65 tokens each (prompt + 50): 40 of them are ~2,600 tokens, 2.6 s of budget.
    const records = await runJobs(h, "gpt-4", 40, 50);
    expect(records.map((r) => r.status)).toEqual(Array(40).fill("completed"));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
    const sim = await limitStats(h, "openai:gpt-4");
    expect(sim.rate_limited).toBe(0);
    expect(sim.admitted).toBe(40);
    const bucket = await h.redis.hgetall(capacityKey(h.keys, "openai", "gpt-4"));
    expect(Number(bucket.admitted)).toBe(40);
    // More than the burst had to wait: jobs went back to the queue or reserved a later turn.
    expect(h.logs.some((l) => l.outcome === "capacity_wait") || Number(bucket["tk:lvl"]) < 1000).toBe(true);
  });

  it("with no limits configured, llmq learns them from the x-ratelimit-* headers and stays under them", async () => {
    h = await startHarness("cap-learn", { sim: { limits: OPENAI_LIMITS }, env: { WORKER_CONCURRENCY: "16" } });
    const records = await runJobs(h, "gpt-4", 40, 50);
    expect(records.map((r) => r.status)).toEqual(Array(40).fill("completed"));
    const sim = await limitStats(h, "openai:gpt-4");
    // The first answers teach the limits; at most a few calls of the opening burst may be refused.
    expect(sim.rate_limited).toBeLessThanOrEqual(2);
    const bucket = await h.redis.hgetall(capacityKey(h.keys, "openai", "gpt-4"));
    expect(Number(bucket["rq:lim"])).toBe(600);
    expect(Number(bucket["tk:lim"])).toBe(60_000);
  });

  it("a worker's first call of a model follows the limits other workers learned, before its provider says anything", async () => {
    // No SIM_LIMITS and nothing configured: only what is in Redis, as another worker would have left it.
    h = await startHarness("cap-probe", { start: false });
    const key = capacityKey(h.keys, "openai", "gpt-4");
    await h.redis.hset(key, { "rq:lim": "60", "rq:lvl": "0", "rq:ts": String(Date.now()) });
    await h.service.start();
    const [record] = await runJobs(h, "gpt-4", 1, 20);
    expect(record?.status).toBe("completed");
    // The bucket was empty (60 a minute, nothing left): the job was turned away or reserved a later turn.
    const bucket = await h.redis.hgetall(key);
    expect(Number(bucket.admitted)).toBe(1);
    expect(Number(bucket.refused ?? 0) + (h.logs.some((l) => l.outcome === "capacity_wait") ? 1 : 0)).toBeGreaterThanOrEqual(1);
  });

  it("a model with no limit anywhere costs one look per worker and leaves no bucket behind", async () => {
    h = await startHarness("cap-none");
    await runJobs(h, "gpt-4o-mini", 3, 20);
    const bucket = await h.redis.hgetall(capacityKey(h.keys, "openai", "gpt-4o-mini"));
    expect(bucket.admitted).toBeUndefined();
    expect(Object.keys(bucket).filter((f) => f.includes(":"))).toEqual([]);
  });

  it("two worker processes share one budget: together they stay under the limit", async () => {
    const env = { OPENAI_RPM: "600", OPENAI_TPM: "60000", WORKER_CONCURRENCY: "16" };
    h = await startHarness("cap-two", { sim: { limits: OPENAI_LIMITS }, env });
    const prom = createPromWorkerMetrics({ defaultMetrics: false });
    extra = createWorkerService({ config: h.config, logger: createLogger({ service: "worker", level: "silent" }), metrics: prom.hook });
    await extra.start();
    const records = await runJobs(h, "gpt-4", 60, 50);
    expect(records.every((r) => r.status === "completed")).toBe(true);
    const sim = await limitStats(h, "openai:gpt-4");
    expect(sim.rate_limited).toBe(0);
    // Both processes took part (the harness's own logs count only its jobs).
    const mine = h.logs.filter((l) => l.outcome === "completed").length;
    expect(mine).toBeGreaterThan(0);
    expect(mine).toBeLessThan(60);
    // The second process's metrics count what it admitted, and the bucket it saw.
    const text = await prom.registry.metrics();
    const admitted = Number(/^llmq_capacity_admitted_total\{provider="openai",model="gpt-4"\} (\d+)$/m.exec(text)?.[1]);
    expect(admitted).toBe(60 - mine);
    expect(text).toMatch(/^llmq_capacity_remaining\{provider="openai",model="gpt-4",limit="tokens"\} -?\d+/m);
    expect(text).toMatch(/^llmq_capacity_admitted_tokens_total\{provider="openai",model="gpt-4",limit="tokens"\} \d+/m);
  });

  it("Anthropic's input and output tokens are paced apart, and unused max_tokens is given back", async () => {
    // 200 output tokens a second, one second's burst. Each call asks for 2,000 but answers far fewer: charged
    // its max_tokens and never refunded, 8 calls would need 70 s of output budget; refunded, a few seconds.
    const limits = { "claude-2.1": { rpm: 600, itpm: 60_000, otpm: 12_000 } };
    h = await startHarness("cap-anth", { sim: { limits }, env: { ANTHROPIC_RPM: "600", ANTHROPIC_ITPM: "60000", ANTHROPIC_OTPM: "12000" } });
    const records = await runJobs(h, "claude-2", 8, 2_000);
    expect(records.every((r) => r.status === "completed")).toBe(true);
    const output = records.reduce((n, r) => n + (r.result?.usage.output_tokens ?? 0), 0);
    expect(output).toBeLessThan(8 * 2_000);
    const sim = await limitStats(h, "anthropic:claude-2.1");
    expect(sim.rate_limited).toBe(0);
    const bucket = await h.redis.hgetall(capacityKey(h.keys, "anthropic", "claude-2"));
    expect(bucket).toHaveProperty("in:lvl");
    expect(bucket).toHaveProperty("out:lvl");
  }, 30_000);

  it("a model at its limit does not hold back the provider's unlimited models", async () => {
    h = await startHarness("cap-iso", { sim: { limits: { "gpt-4": { rpm: 60 } } }, env: { OPENAI_RPM: "60", WORKER_CONCURRENCY: "4" } });
    // gpt-4 gets one request a second; gpt-4o-mini (no limit in the simulator, and no configured one of its
    // own: OPENAI_RPM applies per model, so it gets its own 60 a minute) is not slowed by gpt-4's backlog.
    for (let i = 0; i < 5; i++) await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("Say hello") });
    const other = await h.enqueue({ type: "unstructured", model: "gpt-4o-mini", prompt: unique("Say hello") });
    expect((await h.waitForRecord(other)).status).toBe("completed");
    // The other model's job did not wait behind gpt-4's five (they take 4 s at one a second).
    expect((await limitStats(h, "openai:gpt-4")).admitted).toBeLessThan(5);
    expect(chatCalls(await h.stats())).toBeGreaterThanOrEqual(2);
  });
});
