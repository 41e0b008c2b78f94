import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createKeys, parseConfig, QUEUE_NAMES, type Config, type FinalJobRecord, type Keys } from "@llmq/shared";
import { freePort, ping, testPrefix } from "@llmq/shared/testing";
// Tests only: services never import each other.
import { createSimulator, type Simulator } from "../../services/simulator/src/index.js";
import { FORCE_CLOSE_MS } from "../../services/worker/src/index.js";
import { enqueueUnstructured, killAll, startService, until, type Proc } from "./procs.js";

/**
 * A worker sent SIGTERM while its Redis does not answer: it must not wait for Redis forever. It gives its
 * active jobs the grace period and the hand-back window, then drops its connections, logs the jobs it still
 * held and exits 1. Those jobs come back through BullMQ's stalled-job check once Redis answers again.
 *
 * Each test runs its own redis-server (never the shared one): SIGSTOP leaves the worker's connections open
 * and unanswered (a hung host or a network partition), SIGKILL refuses them (Redis down). The AOF
 * (appendfsync always) keeps the jobs across the kill, as a production Redis would.
 */
const GRACE_MS = 2_000;
/** A correctness bound, not a speed claim: the grace period, the hand-back window, and a margin. */
const EXIT_BOUND_MS = GRACE_MS + FORCE_CLOSE_MS + 3_000;

interface PrivateRedis {
  url: string;
  child: ChildProcess;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir];
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn("redis-server", args, { stdio: "ignore" });
    await until(() => ping(url, 200), `redis-server on port ${port}`, 10_000);
    return child;
  };
  const stopChild = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    });
  const handle: PrivateRedis = {
    url,
    child: await launch(),
    async restart() {
      await stopChild(handle.child);
      handle.child = await launch();
    },
    stop: () => stopChild(handle.child),
  };
  return handle;
}

interface Env {
  dir: string;
  redisServer: PrivateRedis;
  slow: Simulator;
  slowUrl: string;
  fast: Simulator;
  fastUrl: string;
  prefix: string;
  config: Config;
  keys: Keys;
  redis: Redis;
  queue: Queue;
}

let env: Env | undefined;
afterEach(async () => {
  await killAll();
  if (env === undefined) return;
  env.redisServer.child.kill("SIGCONT");
  await env.queue.close().catch(() => undefined);
  env.redis.disconnect();
  await env.redisServer.stop();
  await env.slow.close();
  await env.fast.close();
  rmSync(env.dir, { recursive: true, force: true });
  env = undefined;
});

async function setup(name: string): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "llmq-redis-down-"));
  const redisServer = await startPrivateRedis(dir);
  // The first worker's provider answers long after the grace period; the one that recovers the jobs, at once.
  const slow = createSimulator({ latencyMs: 60_000 });
  const fast = createSimulator({ latencyMs: 50 });
  const { url: slowUrl } = await slow.listen(0, "127.0.0.1");
  const { url: fastUrl } = await fast.listen(0, "127.0.0.1");
  const prefix = testPrefix(`ops-${name}`);
  const config = parseConfig({ REDIS_URL: redisServer.url, REDIS_PREFIX: prefix, PROVIDER_MODE: "simulate", SIMULATOR_URL: slowUrl });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
  const queue = new Queue(QUEUE_NAMES.openai, { connection: redis, prefix: createKeys(prefix).queuePrefix("openai") });
  queue.on("error", () => undefined);
  env = { dir, redisServer, slow, slowUrl, fast, fastUrl, prefix, config, keys: createKeys(prefix), redis, queue };
  return env;
}

function startWorker(e: Env, simUrl: string): Proc {
  return startService("worker", {
    REDIS_URL: e.redisServer.url,
    REDIS_PREFIX: e.prefix,
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: simUrl,
    LOG_LEVEL: "info",
    WORKER_CONCURRENCY: "5",
    WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "500",
  });
}

async function record(e: Env, id: string): Promise<FinalJobRecord | null> {
  const raw = await e.redis.get(e.keys.result(id));
  return raw === null ? null : (JSON.parse(raw) as FinalJobRecord);
}

/**
 * Three jobs active in a worker, Redis made unreachable with `signal`, then SIGTERM: the worker's exit, its
 * log, and the jobs completed by a new worker once Redis is back (`revive`).
 */
async function sigtermWithRedisDown(e: Env, signal: "SIGSTOP" | "SIGKILL", revive: () => Promise<void>): Promise<void> {
  const w = startWorker(e, e.slowUrl);
  await w.logged(/^worker started$/);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await enqueueUnstructured(e.queue, e.config, `Left job ${i} ${e.prefix}`));
  await until(async () => (await e.queue.getActiveCount()) === 3 || undefined, "three active jobs");
  await until(() => e.slow.stats().total === 3 || undefined, "three provider calls in flight");

  e.redisServer.child.kill(signal);
  const signalled = performance.now();
  const exit = await w.stop("SIGTERM", EXIT_BOUND_MS + 10_000);
  const exitMs = exit.at - signalled;
  console.log(`[shutdown] worker with 3 active jobs, Redis ${signal === "SIGSTOP" ? "stopped" : "killed"}, grace ${GRACE_MS} ms: exit code ${exit.code} (signal ${exit.signal}) ${Math.round(exitMs)} ms after SIGTERM`);
  expect(exit.signal).toBeNull();
  expect(exit.code).toBe(1);
  expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
  const left = w.logs.find((l) => Array.isArray(l.job_ids));
  expect(left?.msg).toMatch(/stalled-job recovery/);
  expect([...(left?.job_ids as string[])].sort()).toEqual([...ids].sort());
  expect(w.logs.some((l) => l.msg === "worker stopped without closing cleanly")).toBe(true);

  // Redis back: a new worker's stalled-job check finds the jobs the first one left, and runs them.
  await revive();
  const next = startWorker(e, e.fastUrl);
  await until(async () => (await Promise.all(ids.map((id) => record(e, id)))).every((r) => r?.status === "completed"), "the left jobs completed", 30_000);
  // Stalled-job recovery spends no attempt: each ran once to the end, on its first attempt.
  for (const id of ids) expect((await record(e, id))?.attempts).toBe(1);
  expect(e.fast.stats().total).toBe(3);
  // The record is written before BullMQ hears the job ended (finalize.ts): on a loaded machine the move to
  // completed may come a moment after the last record.
  await until(async () => (await e.queue.getJobCounts("active")).active === 0 || undefined, "BullMQ to move the jobs on", 5_000);
  const counts = await e.queue.getJobCounts("active", "failed", "completed");
  expect(counts).toMatchObject({ active: 0, failed: 0, completed: 3 });
  expect((await next.stop("SIGTERM")).code).toBe(0);
}

describe.skipIf(spawnSync("redis-server", ["--version"]).status !== 0)("a worker process on SIGTERM while its Redis does not answer", () => {
  it("with Redis stopped (connections hang), exits 1 within the grace period plus the hand-back window, naming the jobs it left; they complete once Redis answers", { timeout: 90_000 }, async () => {
    const e = await setup("redisstop");
    await sigtermWithRedisDown(e, "SIGSTOP", async () => {
      e.redisServer.child.kill("SIGCONT");
    });
  });

  it("with Redis killed (connections refused), exits 1 within the grace period plus the hand-back window, naming the jobs it left; they complete once Redis is back", { timeout: 90_000 }, async () => {
    const e = await setup("rediskill");
    await sigtermWithRedisDown(e, "SIGKILL", () => e.redisServer.restart());
  });
});
