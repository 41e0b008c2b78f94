import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createKeys, createLogger, parseConfig, QUEUE_NAMES, type Config, type FinalJobRecord, type Keys } from "@llmq/shared";
import { deletePrefix, freePort, testPrefix } from "@llmq/shared/testing";
// Tests only: services never import each other.
import { createSimulator, type Simulator } from "../../services/simulator/src/index.js";
import { createWorkerService, type WorkerService } from "../../services/worker/src/index.js";
import { enqueueUnstructured, killAll, startService, until } from "./procs.js";

/**
 * Graceful shutdown with real processes and real signals: workers holding active jobs finish them and exit,
 * the API lets an in-flight sync request get its answer, and a second signal forces the exit.
 */
interface Env {
  sim: Simulator;
  simUrl: string;
  prefix: string;
  config: Config;
  keys: Keys;
  redis: Redis;
  queue: Queue;
  worker?: WorkerService;
}

let env: Env | undefined;
afterEach(async () => {
  await killAll();
  if (env === undefined) return;
  await env.worker?.close();
  await env.queue.close();
  await env.sim.close();
  await deletePrefix(env.redis, env.prefix);
  await env.redis.quit();
  env = undefined;
});

async function setup(name: string, latencyMs: number): Promise<Env> {
  const sim = createSimulator({ latencyMs });
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  const prefix = testPrefix(`ops-${name}`);
  const config = parseConfig({ REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix, PROVIDER_MODE: "simulate", SIMULATOR_URL: simUrl });
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAMES.openai, { connection: redis, prefix: createKeys(prefix).queuePrefix("openai") });
  queue.on("error", () => undefined);
  env = { sim, simUrl, prefix, config, keys: createKeys(prefix), redis, queue };
  return env;
}

function workerEnv(e: Env, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: e.config.redis.url, REDIS_PREFIX: e.prefix, PROVIDER_MODE: "simulate", SIMULATOR_URL: e.simUrl, LOG_LEVEL: "info", ...extra };
}

async function record(e: Env, id: string): Promise<FinalJobRecord | null> {
  const raw = await e.redis.get(e.keys.result(id));
  return raw === null ? null : (JSON.parse(raw) as FinalJobRecord);
}

describe("worker processes on SIGTERM", () => {
  it("two workers holding active jobs finish every one of them, take no new ones, and exit 0 within 10 s", async () => {
    const e = await setup("wsigterm", 1500);
    const workers = [0, 1].map(() => startService("worker", workerEnv(e, { WORKER_CONCURRENCY: "5" })));
    await Promise.all(workers.map((w) => w.logged(/^worker started$/)));
    await until(async () => (await e.queue.getWorkersCount()) === 2, "both workers on the queue");

    const ids: string[] = [];
    for (let i = 0; i < 14; i++) ids.push(await enqueueUnstructured(e.queue, e.config, `Shutdown job ${i} ${e.prefix}`));
    // 2 × 5 slots: ten jobs active (five in each process, all waiting on the provider's 1.5 s), four waiting.
    await until(async () => (await e.queue.getActiveCount()) === 10 || undefined, "ten active jobs");
    const active = new Set((await e.queue.getJobs(["active"])).map((j) => String(j.id)));
    expect(active.size).toBe(10);
    expect(await until(() => e.sim.stats().total === 10 || undefined, "ten provider calls in flight")).toBe(true);

    const signalled = performance.now();
    const exits = await Promise.all(workers.map((w) => w.stop("SIGTERM")));
    for (const exit of exits) {
      expect(exit.code).toBe(0);
      expect(exit.at - signalled).toBeLessThan(10_000);
    }
    const exitMs = Math.max(...exits.map((x) => x.at - signalled));
    console.log(`[shutdown] two workers with 10 active jobs (provider latency 1500 ms) exited ${Math.round(exitMs)} ms after SIGTERM`);

    // Every active job completed and was stored; nothing failed, nothing is left active (stalled).
    for (const id of active) {
      expect((await record(e, id))?.status).toBe("completed");
      expect(await (await e.queue.getJob(id))?.getState()).toBe("completed");
    }
    const counts = await e.queue.getJobCounts("active", "failed", "completed", "waiting", "delayed");
    expect(counts).toMatchObject({ active: 0, failed: 0, completed: 10 });
    expect((counts.waiting ?? 0) + (counts.delayed ?? 0)).toBe(4);
    for (const w of workers) expect(w.logs.some((l) => l.msg === "worker stopped")).toBe(true);

    // The four jobs nobody started are intact: a new worker runs them once each, first attempt.
    const next = startService("worker", workerEnv(e, { WORKER_CONCURRENCY: "5", JOB_BACKOFF_MS: "0" }));
    const rest = ids.filter((id) => !active.has(id));
    await until(async () => (await Promise.all(rest.map((id) => record(e, id)))).every((r) => r?.status === "completed"), "the remaining jobs", 15_000);
    for (const id of rest) expect((await record(e, id))?.attempts).toBe(1);
    expect(e.sim.stats().total).toBe(14);
    expect((await next.stop("SIGTERM")).code).toBe(0);
  });

  it("a second signal exits at once, without waiting for active jobs", async () => {
    const e = await setup("wforce", 30_000);
    const w = startService("worker", workerEnv(e, { WORKER_CONCURRENCY: "2" }));
    await w.logged(/^worker started$/);
    await enqueueUnstructured(e.queue, e.config, `Slow job ${e.prefix}`);
    await until(() => e.sim.stats().total === 1 || undefined, "the provider call in flight");
    w.child.kill("SIGTERM");
    await w.logged(/^shutting down/);
    const second = performance.now();
    w.child.kill("SIGTERM");
    const exit = await w.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(2_000);
    expect(w.logs.some((l) => l.msg === "second signal: exiting now")).toBe(true);
  });
});

describe("the API process on SIGTERM", () => {
  it("stops accepting connections, answers the in-flight sync request with 200, then exits 0", async () => {
    const e = await setup("apisigterm", 1500);
    const logger = createLogger({ service: "worker", level: "silent" });
    e.worker = createWorkerService({ config: e.config, logger, providers: ["openai"] });
    await e.worker.start();
    const port = await freePort();
    const api = startService("api", { ...workerEnv(e), API_KEY: "ops-key", HOST: "127.0.0.1", PORT: String(port), API_SHUTDOWN_GRACE_MS: "10000" });
    await api.logged(/listening/);
    const base = `http://127.0.0.1:${port}`;

    const inFlight = fetch(`${base}/api/v1/unstructured`, {
      method: "POST",
      headers: { "x-api-key": "ops-key", "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-3.5-turbo", prompt: `Say hello ${e.prefix}` }),
    });
    await until(() => e.sim.stats().total === 1 || undefined, "the job's provider call in flight");
    const signalled = performance.now();
    api.child.kill("SIGTERM");
    await api.logged(/^shutting down/);

    // No new connections while it drains.
    await expect(fetch(`${base}/livez`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    const res = await inFlight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { output: unknown; provider: string };
    expect(body.provider).toBe("openai");
    expect(typeof body.output).toBe("string");

    const exit = await api.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(10_000);
    expect(api.logs.some((l) => l.msg === "api stopped")).toBe(true);
    expect(api.logs.some((l) => /grace period over/.test(String(l.msg)))).toBe(false);
  });
});
