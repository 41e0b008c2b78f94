// Scaling check: do two worker processes drain slow jobs about twice as fast as one? scale.int.test.ts runs it;
// `npm run bench:scale` is scale-batch-bench.ts (a batch through the API, 1 → 2 → 4 workers).
//
//   npm run build && node test/ops/scale-bench.ts [--jobs 300] [--concurrency 10] [--latency 100] [--workers 1,2]
//                                                 [--warmup 100] [--via npm|node]
//
// The simulator runs as its own process (SIMULATOR_PORT, SIM_LATENCY_MS) and each worker as its own
// `npm run start:worker` (SIMULATOR_URL, WORKER_CONCURRENCY): the pieces run apart, as in compose. For each
// worker count, the jobs are enqueued the way the API enqueues them and the drain time is read from the
// stored records: first start to last finish. With latency L, concurrency C and N workers the floor is
// jobs × L / (C × N); the ratio one-worker / two-worker time is what scaling buys.
// Runs directly under Node 24 (type stripping): it imports packages only, never relative TypeScript.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createKeys, defaultJobOptions, parseConfig, QUEUE_NAMES, rawEnv, type Config, type FinalJobRecord, type JobPayload, type Keys } from "@llmq/shared";
import { deletePrefix, freePort } from "@llmq/shared/testing";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ScaleBenchOptions {
  jobs: number;
  concurrency: number;
  latencyMs: number;
  /** Worker process counts to measure, in order. */
  workers: number[];
  /** Jobs each run drains first, unmeasured, so V8 has compiled the workers' hot code. Default 0. */
  warmup?: number;
  redisUrl: string;
  /** `npm run start:worker` (what operators run) or `node services/worker/dist/main.js`. */
  via: "npm" | "node";
  log?: (line: string) => void;
}

export interface ScaleRun {
  workers: number;
  /** First job start to last job finish, from the stored records. */
  drainMs: number;
  /** Enqueue start to last finish, as a client sees it. */
  wallMs: number;
  floorMs: number;
  jobsPerS: number;
  /** Worker CPU (user + system, all processes) per job during the drain. */
  cpuMsPerJob: number;
}

export interface ScaleResult {
  runs: ScaleRun[];
  /** drainMs of the first count over drainMs of the last. */
  ratio: number;
}

export async function runScaleBench(o: ScaleBenchOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => undefined);
  const simPort = await freePort();
  const sim = spawnNode(join(ROOT, "services/simulator/dist/main.js"), { SIMULATOR_PORT: String(simPort), SIMULATOR_HOST: "127.0.0.1", SIM_LATENCY_MS: String(o.latencyMs), LOG_LEVEL: "warn" });
  const simUrl = `http://127.0.0.1:${simPort}`;
  const runs: ScaleRun[] = [];
  try {
    await waitFor(async () => (await fetch(`${simUrl}/__sim/health`).catch(() => undefined))?.ok === true, "the simulator", 15_000);
    for (const n of o.workers) {
      const run = await measure(o, n, simUrl);
      log(`${n} worker${n === 1 ? " " : "s"}: ${o.jobs} jobs drained in ${run.drainMs} ms (${run.jobsPerS.toFixed(0)} jobs/s; floor ${run.floorMs} ms, ${((run.floorMs / run.drainMs) * 100).toFixed(0)}% of ideal; client wall ${run.wallMs} ms; worker CPU ${run.cpuMsPerJob.toFixed(2)} ms/job)`);
      runs.push(run);
    }
  } finally {
    await stop(sim);
  }
  const ratio = runs.length > 1 ? runs[0]!.drainMs / runs.at(-1)!.drainMs : 1;
  return { runs, ratio };
}

async function measure(o: ScaleBenchOptions, n: number, simUrl: string): Promise<ScaleRun> {
  const prefix = `llmq-scale-${randomBytes(4).toString("hex")}`;
  const env = {
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: prefix,
    PROVIDER_MODE: "simulate",
    SIMULATOR_URL: simUrl,
    WORKER_CONCURRENCY: String(o.concurrency),
    LOG_LEVEL: "warn",
  };
  const config = parseConfig(env);
  const keys = createKeys(prefix);
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAMES.openai, { connection: redis, prefix: createKeys(prefix).queuePrefix("openai") });
  queue.on("error", () => undefined);
  // Each worker serves /metrics on its own port: its CPU seconds before and after the drain.
  const metricsPorts: number[] = [];
  for (let i = 0; i < n; i++) metricsPorts.push(await freePort());
  const workers = metricsPorts.map((port) => {
    const wenv = { ...env, WORKER_METRICS_PORT: String(port), WORKER_METRICS_HOST: "127.0.0.1" };
    return o.via === "npm" ? spawnProc("npm", ["run", "--silent", "start:worker"], wenv) : spawnNode(join(ROOT, "services/worker/dist/main.js"), wenv);
  });
  try {
    await waitFor(async () => (await queue.getWorkersCount()) === n, `${n} worker(s) on the queue`, 30_000);
    // Long-running workers are warm: a first batch, not measured, gets their code compiled by V8.
    if ((o.warmup ?? 0) > 0) await drain(queue, redis, keys, config, o.warmup!);
    const cpuBefore = await workerCpu(metricsPorts);
    const enqueued = Date.now();
    const records = await drain(queue, redis, keys, config, o.jobs);
    const firstStart = Math.min(...records.map((r) => r.started_at ?? Infinity));
    const lastFinish = Math.max(...records.map((r) => r.finished_at ?? 0));
    const drainMs = lastFinish - firstStart;
    const floorMs = Math.round((Math.ceil(o.jobs / (o.concurrency * n)) * o.latencyMs));
    const cpuMs = (await workerCpu(metricsPorts)) - cpuBefore;
    return { workers: n, drainMs, wallMs: lastFinish - enqueued, floorMs, jobsPerS: (o.jobs / drainMs) * 1000, cpuMsPerJob: cpuMs / o.jobs };
  } finally {
    await Promise.all(workers.map((w) => stop(w)));
    await queue.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  }
}

/** Enqueues `count` jobs as the API does and resolves with their records once every one is stored. */
async function drain(queue: Queue, redis: Redis, keys: Keys, config: Config, count: number): Promise<FinalJobRecord[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await queue.addBulk(
    ids.map((jobId, i) => {
      const data: JobPayload = {
        type: "unstructured",
        model: "gpt-3.5-turbo",
        provider: "openai",
        owner: "scale-bench",
        request_id: randomUUID(),
        created_at: Date.now(),
        messages: [{ role: "user", content: `Say hello, job ${i}` }],
      };
      return { name: data.type, data, opts: { jobId, ...defaultJobOptions(config) } };
    }),
  );
  const resultKeys = ids.map((id) => keys.result(id));
  await waitFor(async () => (await redis.exists(...resultKeys)) === ids.length, "every job's record", 120_000, 20);
  const records = (await redis.mget(...resultKeys)).map((r) => JSON.parse(r ?? "null") as FinalJobRecord);
  const bad = records.filter((r) => r.status !== "completed");
  if (bad.length > 0) throw new Error(`${bad.length} jobs did not complete: ${JSON.stringify(bad[0])}`);
  return records;
}

/** Sum of the workers' process_cpu_seconds_total, in ms. */
async function workerCpu(ports: number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    total += Number(/^process_cpu_seconds_total\{service="worker"\} (\S+)$/m.exec(text)?.[1] ?? Number.NaN) * 1000;
  }
  return total;
}

function spawnNode(script: string, env: Record<string, string>): ChildProcess {
  return spawnProc(process.execPath, [script], env);
}

function spawnProc(cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    // No .env from the working directory: the bench's settings only.
    env: { PATH: rawEnv("PATH") ?? "", HOME: rawEnv("HOME") ?? "", ENV_FILE: "/nonexistent/.env", ...env },
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group: `npm run` does not pass SIGTERM on to the node it started, so the whole group
    // (npm, sh, node) is signalled.
    detached: true,
  });
  child.stderr?.on("data", (b: Buffer) => process.stderr.write(b));
  return child;
}

/** SIGTERM to the process group (the worker finishes its jobs and exits), SIGKILL after 15 s. */
async function stop(child: ChildProcess): Promise<void> {
  const group = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r())));
  group("SIGTERM");
  const timer = setTimeout(() => group("SIGKILL"), 15_000);
  await exited;
  // npm may exit before the node it started: wait until nothing in the group is left.
  for (let i = 0; i < 300 && groupAlive(child.pid!); i++) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(timer);
  if (groupAlive(child.pid!)) group("SIGKILL");
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o: ScaleBenchOptions = {
    jobs: Number(arg("jobs", "300")),
    concurrency: Number(arg("concurrency", "10")),
    latencyMs: Number(arg("latency", "100")),
    workers: arg("workers", "1,2").split(",").map(Number),
    warmup: Number(arg("warmup", "100")),
    redisUrl: rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379",
    via: arg("via", "npm") === "node" ? "node" : "npm",
    log: (line) => console.log(line),
  };
  console.log(`scale bench: ${o.jobs} jobs, SIM_LATENCY_MS=${o.latencyMs}, WORKER_CONCURRENCY=${o.concurrency}, workers ${o.workers.join(" vs ")} (${o.via === "npm" ? "npm run start:worker" : "node dist/main.js"})`);
  const result = await runScaleBench(o);
  console.log(`ratio (${o.workers[0]} worker time / ${o.workers.at(-1)} worker time): ${result.ratio.toFixed(2)}x`);
}
