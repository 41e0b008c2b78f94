// Scaling bench (`npm run bench:scale`): how fast do 1, 2 and 4 worker processes drain one batch against a
// 100 ms provider, on one Redis and on a 3-master Redis Cluster, and what does each item cost each process?
//
//   npm run bench:scale [-- --items 2000 --workers 1,2,4 --concurrency 10 --latency 100 --warmup 200 --redis single,cluster]
//   (SCALE_ITEMS, SCALE_WORKERS, SCALE_CONCURRENCY, SCALE_REDIS set the same; REDIS_URL picks the single Redis)
//
// The cluster rows run on a private cluster of 3 masters started for the bench (redis-server --cluster-enabled
// and redis-cli --cluster create, as the tests' fixture does; no replicas), every process given
// REDIS_CLUSTER_NODES; its Redis figures are the three masters' together.
//
// Each step is a fresh stack (load/src/stack.ts): a simulator process with SIM_LATENCY_MS, a real API process,
// and N worker processes, each `node services/worker/dist/main.js` as `npm run start:worker` execs it, with
// WORKER_CONCURRENCY. A warm-up batch drains unmeasured first (V8 compiles the hot code); then one batch of
// unstructured items goes in through POST /api/v1/batches, so the API's batch feeder is part of what is
// measured, and is polled until every item is final. CPU is read from /proc/<pid>/stat before and after, the
// way `npm run bench` reads it; Redis's from INFO cpu, its commands from INFO stats' total_commands_processed.
// Redis figures are the whole server's: on a shared Redis they include everyone else's traffic.
// Runs directly under Node 24 (type stripping): it imports packages only, never relative TypeScript.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { rawEnv } from "@llmq/shared";
import { startRedisCluster } from "@llmq/shared/testing";
import { cpuMs, machine, startStack, type Machine, type Stack } from "@llmq/load";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ScaleStep {
  redis: RedisMode;
  workers: number;
  items: number;
  /** From the 202 to the poll that saw every item final. */
  drain_s: number;
  items_per_s: number;
  /** workers × concurrency / latency: every slot always waiting on the provider. */
  ideal_items_per_s: number;
  pct_of_ideal: number;
  /** items_per_s over the first step's. */
  ratio_to_first: number;
  failed: number;
  /** CPU ms per item, user + system, during the measured batch. */
  cpu_ms_per_item: { workers: number; api: number; simulator: number; redis: number };
  redis_commands_per_item: number;
  redis_ops_per_s: number;
  /** The busiest Redis server's part of the commands (1 on a single Redis; 1/3 would be an even cluster). */
  busiest_master_share: number;
  /** The busiest Redis server's CPU ms per item (what one Redis core must carry). */
  busiest_master_cpu_ms_per_item: number;
}

export interface ScaleReport {
  bench: "scale";
  at: string;
  machine: Machine;
  load_avg_after: number[] | undefined;
  settings: { items: number; warmup: number; concurrency: number; latency_ms: number; workers: number[]; redis: RedisMode[]; redis_url: string };
  steps: ScaleStep[];
}

export type RedisMode = "single" | "cluster";

interface Opts {
  items: number;
  warmup: number;
  concurrency: number;
  latencyMs: number;
  workers: number[];
  redis: RedisMode[];
  redisUrl: string;
}

/** Where a row's processes go: REDIS_URL, or a cluster's nodes; `servers` are what Redis's figures are read from. */
interface Target {
  mode: RedisMode;
  env: Record<string, string>;
  servers: Redis[];
}

async function redisStats(servers: Redis[]): Promise<{ cpuMs: number; commands: number; perServer: number[]; cpuPerServer: number[] }> {
  let cpu = 0;
  const perServer: number[] = [];
  const cpuPerServer: number[] = [];
  for (const redis of servers) {
    const info = await redis.info();
    const num = (k: string): number => Number(new RegExp(`^${k}:(\\S+)`, "m").exec(info)?.[1] ?? Number.NaN);
    cpuPerServer.push((num("used_cpu_sys") + num("used_cpu_user")) * 1000);
    cpu += cpuPerServer.at(-1) as number;
    perServer.push(num("total_commands_processed"));
  }
  return { cpuMs: cpu, commands: perServer.reduce((a, b) => a + b, 0), perServer, cpuPerServer };
}

async function submitAndDrain(stack: Stack, items: number): Promise<{ drainS: number; completed: number; failed: number }> {
  const requests = Array.from({ length: items }, (_, i) => ({ custom_id: `item-${i}`, type: "unstructured", body: { model: "gpt-4o-mini", prompt: `Write one sentence about item ${i}.`, max_tokens: 50 } }));
  const headers = { "x-api-key": stack.apiKey, "content-type": "application/json" };
  const res = await fetch(`${stack.apiUrl}/api/v1/batches`, { method: "POST", headers, body: JSON.stringify({ requests }) });
  const accepted = performance.now();
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /api/v1/batches answered ${res.status}: ${text.slice(0, 300)}`);
  const id = (JSON.parse(text) as { id: string }).id;
  const deadline = accepted + 600_000;
  while (performance.now() < deadline) {
    const r = await fetch(`${stack.apiUrl}/api/v1/batches/${id}`, { headers });
    const c = ((await r.json()) as { counts: { completed: number; failed: number; cancelled: number; total: number } }).counts;
    if (c.completed + c.failed + c.cancelled >= c.total) return { drainS: (performance.now() - accepted) / 1000, completed: c.completed, failed: c.failed + c.cancelled };
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`batch ${id} did not drain within 600 s`);
}

async function step(o: Opts, n: number, target: Target): Promise<Omit<ScaleStep, "ratio_to_first">> {
  const redis = target.servers;
  const stack = await startStack({
    redisUrl: o.redisUrl,
    workers: n,
    env: { SIM_LATENCY_MS: String(o.latencyMs), WORKER_CONCURRENCY: String(o.concurrency), ...target.env },
    startTimeoutMs: 60_000,
  });
  try {
    if (o.warmup > 0) await submitAndDrain(stack, o.warmup);
    const pids = { workers: stack.workerPids, api: [stack.pids.api], simulator: [stack.pids.simulator] };
    const cpu = (): Record<keyof typeof pids, number> => {
      const sum = (list: Array<number | undefined>): number => list.reduce<number>((a, p) => a + (cpuMs(p) ?? Number.NaN), 0);
      return { workers: sum(pids.workers), api: sum(pids.api), simulator: sum(pids.simulator) };
    };
    const [cpu0, r0] = [cpu(), await redisStats(redis)];
    const run = await submitAndDrain(stack, o.items);
    const [cpu1, r1] = [cpu(), await redisStats(redis)];
    const itemsPerS = o.items / run.drainS;
    const ideal = (n * o.concurrency * 1000) / o.latencyMs;
    const per = (a: number, b: number): number => (b - a) / o.items;
    return {
      redis: target.mode,
      workers: n,
      items: o.items,
      drain_s: run.drainS,
      items_per_s: itemsPerS,
      ideal_items_per_s: ideal,
      pct_of_ideal: (itemsPerS / ideal) * 100,
      failed: run.failed,
      cpu_ms_per_item: { workers: per(cpu0.workers, cpu1.workers), api: per(cpu0.api, cpu1.api), simulator: per(cpu0.simulator, cpu1.simulator), redis: per(r0.cpuMs, r1.cpuMs) },
      redis_commands_per_item: per(r0.commands, r1.commands),
      redis_ops_per_s: (r1.commands - r0.commands) / run.drainS,
      busiest_master_share: Math.max(...r1.perServer.map((c, i) => c - (r0.perServer[i] ?? 0))) / (r1.commands - r0.commands),
      busiest_master_cpu_ms_per_item: Math.max(...r1.cpuPerServer.map((c, i) => c - (r0.cpuPerServer[i] ?? 0))) / o.items,
    };
  } finally {
    await stack.stop();
  }
}

export async function runScaleBatchBench(o: Opts, log: (line: string) => void = () => undefined): Promise<ScaleReport> {
  const steps: ScaleStep[] = [];
  for (const mode of o.redis) {
    const cluster = mode === "cluster" ? await startRedisCluster({ masters: 3 }) : undefined;
    const servers = cluster === undefined ? [new Redis(o.redisUrl, { maxRetriesPerRequest: null })] : cluster.nodes.map((n) => new Redis({ ...n, maxRetriesPerRequest: null }));
    const target: Target = { mode, env: cluster === undefined ? {} : { REDIS_CLUSTER_NODES: cluster.nodesEnv }, servers };
    const first = steps.length;
    try {
      for (const n of o.workers) {
        const s = await step(o, n, target);
        const full: ScaleStep = { ...s, ratio_to_first: steps.length === first ? 1 : s.items_per_s / steps[first]!.items_per_s };
        steps.push(full);
        log(row(full));
      }
    } finally {
      for (const r of servers) r.disconnect();
      await cluster?.stop();
    }
  }
  return {
    bench: "scale",
    at: new Date().toISOString(),
    machine: machine(),
    load_avg_after: machine().load_avg,
    settings: { items: o.items, warmup: o.warmup, concurrency: o.concurrency, latency_ms: o.latencyMs, workers: o.workers, redis: o.redis, redis_url: o.redisUrl.replace(/\/\/[^@]*@/, "//") },
    steps,
  };
}

const HEADER = "| Redis | workers | items/s | ideal | % of ideal | × 1 worker | CPU ms/item: workers | API | simulator | Redis | Redis cmds/item | Redis ops/s | busiest master: commands | CPU ms/item |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

function row(s: ScaleStep): string {
  const c = s.cpu_ms_per_item;
  return `| ${s.redis === "cluster" ? "cluster, 3 masters" : "single"} | ${s.workers} | ${s.items_per_s.toFixed(0)} | ${s.ideal_items_per_s.toFixed(0)} | ${s.pct_of_ideal.toFixed(0)} % | ${s.ratio_to_first.toFixed(2)} | ${c.workers.toFixed(2)} | ${c.api.toFixed(2)} | ${c.simulator.toFixed(2)} | ${c.redis.toFixed(2)} | ${s.redis_commands_per_item.toFixed(1)} | ${s.redis_ops_per_s.toFixed(0)} | ${(s.busiest_master_share * 100).toFixed(0)} % | ${s.busiest_master_cpu_ms_per_item.toFixed(2)} |${s.failed > 0 ? ` (${s.failed} failed)` : ""}`;
}

function arg(name: string, env: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : (rawEnv(env) ?? fallback);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o: Opts = {
    items: Number(arg("items", "SCALE_ITEMS", "2000")),
    warmup: Number(arg("warmup", "SCALE_WARMUP", "200")),
    concurrency: Number(arg("concurrency", "SCALE_CONCURRENCY", "10")),
    latencyMs: Number(arg("latency", "SCALE_LATENCY_MS", "100")),
    workers: arg("workers", "SCALE_WORKERS", "1,2,4").split(",").map(Number),
    redis: arg("redis", "SCALE_REDIS", "single,cluster").split(",").map((m) => {
      if (m !== "single" && m !== "cluster") throw new Error(`--redis takes single, cluster or both (comma-separated), not "${m}"`);
      return m;
    }),
    redisUrl: rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379",
  };
  const m = machine();
  console.log(`scale bench: a batch of ${o.items} unstructured items through POST /api/v1/batches (warm-up ${o.warmup}), SIM_LATENCY_MS=${o.latencyMs}, WORKER_CONCURRENCY=${o.concurrency}, workers ${o.workers.join(" → ")} on ${o.redis.join(" and ")} Redis; ${m.cores} cores, load average ${m.load_avg?.join(" ") ?? "?"}`);
  console.log(HEADER);
  const report = await runScaleBatchBench(o, (line) => console.log(line));
  console.log(`load average after: ${report.load_avg_after?.join(" ") ?? "?"}`);
  const dir = join(ROOT, "load/results");
  mkdirSync(dir, { recursive: true });
  const stamp = report.at.replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  const file = join(dir, `scale-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "scale-latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`figures: ${file} (and scale-latest.json)`);
}
