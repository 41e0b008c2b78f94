/**
 * `npm run bench`: where llmq stands, as ratios against the bare provider simulator on the same machine.
 *
 * Starts a private zero-latency simulator, API and worker (see stack.ts) and the peers (the plain build, the
 * Portkey gateway), loads each target at 1 and 50 connections in BENCH_ROUNDS rounds (every target once per
 * round, back to back: rounds.ts says why), reads each process's CPU from /proc, submits one large batch when
 * the API has batches, prints ONE table and writes the figures as JSON (load/results/bench-<timestamp>.json and
 * bench-latest.json) so two commits can be compared. It measures and prints; it asserts nothing.
 *
 * Settings: BENCH_DURATION (per cell, default 10s), BENCH_ROUNDS (default 3; also how many in-flight runs),
 * REDIS_URL (default redis://127.0.0.1:6379),
 * BENCH_GENERATOR (wrk | node; default wrk when installed), BENCH_BATCH_ITEMS (default 10000),
 * BENCH_BATCH_TIMEOUT_S (default 150), BENCH_INFLIGHT_CONNECTIONS (default 4000, 0 skips the in-flight rows).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeQuietly, createProducerConnection, rawEnv, waitForReady } from "@llmq/shared";
import { batchesAvailable, runBatch } from "./batch-bench.js";
import { markLines, PROCESSES, tableRows, type BenchReport, type Cell, type InFlightRound, type ProcName, type RoundFigures, type TargetId } from "./bench-report.js";
import { runClosedLoop, type LoopRequest } from "./closed-loop.js";
import type { LoadResult } from "./load-result.js";
import { runPlainDrain, startBaseline } from "./baseline/baseline-stack.js";
import { startPortkey } from "./baseline/portkey.js";
import { measureInFlight, type InFlightFigures } from "./inflight-bench.js";
import { medianIndex, pairedRatio } from "./rounds.js";
import { positiveInt } from "./settings.js";
import { cpuMs, machine, rssMb } from "./proc-stats.js";
import { REPO_ROOT, startStack, type Stack } from "./stack.js";
import { structuredBody } from "./structured-body.js";
import { formatTable } from "./table.js";
import { hasWrk, runWrk } from "./wrk.js";

const MODEL = "gpt-4o-mini";
const PROMPT = "Write a detailed product description for a smartphone";
const MAX_TOKENS = 100;
const CONNECTIONS = [1, 50] as const;
const WARMUP_S = 2;
/** The in-flight cell's shortest measured window (after its warm-up). */
const IN_FLIGHT_MIN_S = 20;
/** The batch drained first, unmeasured, before the batch row (and the items the plain drain's process drains first). */
export const BATCH_WARMUP_ITEMS = 500;

const TARGETS: { id: TargetId; label: string }[] = [
  { id: "simulator", label: "bare simulator (POST /v1/chat/completions)" },
  { id: "unstructured", label: "llmq unstructured" },
  { id: "structured_new_schema", label: "llmq structured, new schema per request" },
  { id: "structured_same_schema", label: "llmq structured, one schema repeated" },
];
/** The property names' tag when every request carries the same schema (the prompt still differs per request). */
const REPEATED_SCHEMA_TAG = "repeated";
const PLAIN: { id: TargetId; label: string } = { id: "plain_unstructured", label: "plain Express+BullMQ+waitUntilFinished, unstructured" };
const PORTKEY: { id: TargetId; label: string } = { id: "portkey_unstructured", label: "Portkey gateway, unstructured" };

function durationSeconds(raw: string | undefined, def: number): number {
  if (raw === undefined || raw.trim() === "") return def;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new Error(`BENCH_DURATION must look like 10s, 1m or 15 (got "${raw}")`);
  const n = Number(m[1]);
  return m[2] === "m" ? n * 60 : m[2] === "ms" ? n / 1000 : n;
}

function gitDescribe(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** The Redis server's pid when it runs on this machine and /proc shows it (for its CPU per request). */
async function redisPid(redisUrl: string): Promise<number | undefined> {
  const host = new URL(redisUrl).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) return undefined;
  const redis = createProducerConnection(redisUrl);
  try {
    await waitForReady(redis, 3000);
    const m = /process_id:(\d+)/.exec(await redis.info("server"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    await closeQuietly(redis);
  }
}

interface Runner {
  /** `plainUrl`: where the plain build listens, for the plain_unstructured target. */
  plainUrl?: string;
  /** Where the Portkey gateway listens and the headers that route it to the simulator. */
  portkey?: { url: string; headers: Record<string, string> };
  run(target: TargetId, connections: number, durationS: number): Promise<LoadResult>;
  close(): void;
}

function wrkRunner(stack: Stack): Runner {
  const dir = mkdtempSync(join(tmpdir(), "llmq-bench-"));
  const simBody = join(dir, "simulator.json");
  const unstructuredBody = join(dir, "unstructured.json");
  writeFileSync(simBody, JSON.stringify({ model: MODEL, messages: [{ role: "user", content: PROMPT }], max_tokens: MAX_TOKENS }));
  writeFileSync(unstructuredBody, JSON.stringify({ model: MODEL, prompt: PROMPT, max_tokens: MAX_TOKENS }));
  const llmqHeaders = { "X-API-Key": stack.apiKey, "Content-Type": "application/json" };
  const runner: Runner = {
    run(target, connections, durationS) {
      const common = { connections, durationS, cwd: REPO_ROOT };
      switch (target) {
        case "simulator":
          return runWrk({ ...common, url: `${stack.simulatorUrl}/v1/chat/completions`, script: "load/wrk/post_json.lua", headers: { Authorization: "Bearer bench", "Content-Type": "application/json" }, env: { WRK_BODY_FILE: simBody } });
        case "unstructured":
          return runWrk({ ...common, url: `${stack.apiUrl}/api/v1/unstructured`, script: "load/wrk/post_json.lua", headers: llmqHeaders, env: { WRK_BODY_FILE: unstructuredBody } });
        case "structured_new_schema":
          return runWrk({ ...common, url: `${stack.apiUrl}/api/v1/structured`, script: "load/wrk/structured_new_schema.lua", headers: llmqHeaders, env: { WRK_MODELS: MODEL } });
        case "structured_same_schema":
          return runWrk({ ...common, url: `${stack.apiUrl}/api/v1/structured`, script: "load/wrk/structured_new_schema.lua", headers: llmqHeaders, env: { WRK_MODELS: MODEL, WRK_SCHEMA_TAG: REPEATED_SCHEMA_TAG } });
        case "plain_unstructured":
          return runWrk({ ...common, url: `${runner.plainUrl}/api/v1/unstructured`, script: "load/wrk/post_json.lua", headers: llmqHeaders, env: { WRK_BODY_FILE: unstructuredBody } });
        case "portkey_unstructured":
          return runWrk({ ...common, url: `${runner.portkey?.url}/v1/chat/completions`, script: "load/wrk/post_json.lua", headers: runner.portkey?.headers ?? {}, env: { WRK_BODY_FILE: simBody } });
      }
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
  return runner;
}

function nodeRunner(stack: Stack): Runner {
  const simBody = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: PROMPT }], max_tokens: MAX_TOKENS });
  const unstructuredBody = JSON.stringify({ model: MODEL, prompt: PROMPT, max_tokens: MAX_TOKENS });
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let n = 0;
  /** The wrk script's body (structured-body.ts): a new tag per request in the prompt, and in the names unless given. */
  const structured = (names?: string): LoopRequest => ({ path: "/api/v1/structured", body: structuredBody(`${run}_r${++n}`, names, MODEL) });
  const runner: Runner = {
    run(target, connections, durationS) {
      switch (target) {
        case "simulator":
          return runClosedLoop({ origin: stack.simulatorUrl, connections, durationS, headers: { authorization: "Bearer bench" }, next: () => ({ path: "/v1/chat/completions", body: simBody }) });
        case "unstructured":
          return runClosedLoop({ origin: stack.apiUrl, connections, durationS, headers: { "x-api-key": stack.apiKey }, next: () => ({ path: "/api/v1/unstructured", body: unstructuredBody }) });
        case "structured_new_schema":
          return runClosedLoop({ origin: stack.apiUrl, connections, durationS, headers: { "x-api-key": stack.apiKey }, next: () => structured() });
        case "structured_same_schema":
          return runClosedLoop({ origin: stack.apiUrl, connections, durationS, headers: { "x-api-key": stack.apiKey }, next: () => structured(REPEATED_SCHEMA_TAG) });
        case "plain_unstructured":
          return runClosedLoop({ origin: runner.plainUrl ?? "", connections, durationS, headers: {}, next: () => ({ path: "/api/v1/unstructured", body: unstructuredBody }) });
        case "portkey_unstructured":
          return runClosedLoop({ origin: runner.portkey?.url ?? "", connections, durationS, headers: runner.portkey?.headers ?? {}, next: () => ({ path: "/v1/chat/completions", body: simBody }) });
      }
    },
    close: () => undefined,
  };
  return runner;
}

function cpuSnapshot(pids: Record<ProcName, number | undefined>): Record<ProcName, number | undefined> {
  return { api: cpuMs(pids.api), worker: cpuMs(pids.worker), simulator: cpuMs(pids.simulator), redis: cpuMs(pids.redis) };
}

function perUnit(before: Record<ProcName, number | undefined>, after: Record<ProcName, number | undefined>, units: number): Record<ProcName, number | null> {
  const out = {} as Record<ProcName, number | null>;
  for (const p of PROCESSES) {
    const a = before[p];
    const b = after[p];
    out[p] = a === undefined || b === undefined || units === 0 ? null : (b - a) / units;
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Target = { id: TargetId; label: string };

/**
 * One cell per target and connection count from its rounds: the round with the median req/s gives the cell's
 * figures (latencies, CPU), and each ratio is the median of the ratios paired within rounds.
 */
function cellsFromRounds(targets: Target[], runs: Map<string, RoundFigures[]>): Cell[] {
  const key = (t: TargetId, c: number): string => `${t}@${c}`;
  const rpsOf = (t: TargetId, c: number): (number | undefined)[] => (runs.get(key(t, c)) ?? []).map((r) => r.result.rps);
  const cells: Cell[] = [];
  for (const connections of CONNECTIONS) {
    for (const t of targets) {
      const rounds = runs.get(key(t.id, connections)) ?? [];
      if (rounds.length === 0) continue;
      const mid = rounds[medianIndex(rounds.map((r) => r.result.rps))] ?? rounds[0]!;
      const mine = rpsOf(t.id, connections);
      const simulator = pairedRatio(mine, rpsOf("simulator", connections));
      const cell: Cell = {
        target: t.id,
        label: t.label,
        connections,
        result: mid.result,
        ratio_to_simulator: simulator.median,
        cpu_ms_per_request: mid.cpu_ms_per_request,
        rss_mb_after: rounds[rounds.length - 1]!.rss_mb_after,
        rounds,
        paired: { simulator },
      };
      if (t.id === "unstructured") {
        const plain = pairedRatio(mine, rpsOf("plain_unstructured", connections));
        const portkey = pairedRatio(mine, rpsOf("portkey_unstructured", connections));
        cell.ratio_to_plain = plain.median;
        cell.ratio_to_portkey = portkey.median;
        cell.paired = { ...cell.paired, plain, portkey };
      }
      if (t.id === "structured_new_schema" || t.id === "structured_same_schema") cell.paired = { ...cell.paired, unstructured: pairedRatio(mine, rpsOf("unstructured", connections)) };
      cells.push(cell);
    }
  }
  return cells;
}

/** The in-flight cell `rounds` times, each on a stack of its own: the run with the median ratio, and every ratio. */
async function measureInFlightRounds(rounds: number, opts: Parameters<typeof measureInFlight>[0]): Promise<InFlightFigures & { rounds: InFlightRound[] }> {
  const runs: InFlightFigures[] = [];
  for (let r = 0; r < rounds; r++) {
    const f = await measureInFlight(opts);
    runs.push(f);
    process.stderr.write(`  in flight @${f.connections}, round ${r + 1}/${rounds}: provider ${f.provider.rps.toFixed(0)} req/s, llmq ${f.llmq.rps.toFixed(0)} req/s (after ${f.warmup_s} s of warm-up)\n`);
  }
  const ratios = runs.map((f) => f.ratio_to_provider ?? Number.NaN);
  const mid = runs[medianIndex(ratios)] ?? runs[0]!;
  return { ...mid, rounds: runs.map((f) => ({ ratio_to_provider: f.ratio_to_provider, provider_rps: f.provider.rps, llmq_rps: f.llmq.rps, worker_peak_rss_mb: f.llmq.peak_rss_mb.worker })) };
}

async function main(): Promise<void> {
  const durationS = durationSeconds(rawEnv("BENCH_DURATION"), 10);
  const rounds = positiveInt(rawEnv("BENCH_ROUNDS"), 3, "BENCH_ROUNDS");
  const redisUrl = rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const generator = rawEnv("BENCH_GENERATOR") === "node" || !hasWrk() ? "node" : "wrk";
  const batchItems = Number(rawEnv("BENCH_BATCH_ITEMS") ?? 10_000);
  const batchTimeoutS = Number(rawEnv("BENCH_BATCH_TIMEOUT_S") ?? 150);
  const m = machine();
  const started = new Date();
  const commit = gitDescribe();
  console.log(`llmq bench · ${commit} · ${m.cpu}, ${m.cores} cores · ${m.os} · Node ${m.node}`);
  console.log(`generator ${generator}${generator === "node" ? " (wrk not found: the generator shares the CPU it measures)" : ""} · ${durationS}s per cell · ${rounds} round${rounds === 1 ? "" : "s"} · model ${MODEL} · simulator latency 0 ms`);
  if (m.load_avg) console.log(`load average before: ${m.load_avg.join(" ")} (the machine is shared: compare ratios, not absolutes)`);

  const probe = createProducerConnection(redisUrl);
  try {
    await waitForReady(probe, 3000);
  } catch {
    throw new Error(`Redis does not answer at ${redisUrl}: start redis-server, or set REDIS_URL to a Redis the bench may use (it writes only keys under its own prefix and deletes them)`);
  } finally {
    await closeQuietly(probe);
  }
  const stack = await startStack({ redisUrl });
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error("interrupted: stopping the bench's llmq and deleting its keys");
    stack.stop().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const pids: Record<ProcName, number | undefined> = { ...stack.pids, redis: await redisPid(redisUrl) } as Record<ProcName, number | undefined>;
  const runner = generator === "wrk" ? wrkRunner(stack) : nodeRunner(stack);
  let cells: Cell[] = [];
  let batch: BenchReport["batch"] = { unavailable: "n/a (batches not available)" };
  let plainDrain: NonNullable<BenchReport["plain_drain"]> = { unavailable: "n/a (not run)" };
  let inFlight: BenchReport["in_flight"];
  let plain: Awaited<ReturnType<typeof startBaseline>> | undefined;
  let portkey: Awaited<ReturnType<typeof startPortkey>> | undefined;
  try {
    // Every peer runs from the start, idle while another target is loaded, so each round loads all of them
    // back to back: the comparator for llmq's hot path (the plain build, on the same simulator and Redis, with the
    // same worker concurrency) and the stateless gateway a user might pick instead of a queue (its process
    // stands in the API column).
    plain = await startBaseline({ redisUrl, simulatorUrl: stack.simulatorUrl, prefix: `${stack.prefix}-plain`, concurrency: 50 });
    runner.plainUrl = plain.url;
    try {
      portkey = await startPortkey(stack.simulatorUrl);
      runner.portkey = portkey;
    } catch (err) {
      process.stderr.write(`  Portkey gateway not measured: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    const targets: Target[] = [...TARGETS, PLAIN, ...(portkey === undefined ? [] : [PORTKEY])];
    const procsOf = (id: TargetId): Record<ProcName, number | undefined> =>
      id === "plain_unstructured" ? { ...pids, api: plain?.pids.api, worker: plain?.pids.worker } : id === "portkey_unstructured" ? { ...pids, api: portkey?.pid, worker: undefined } : pids;
    for (const t of targets) await runner.run(t.id, 10, WARMUP_S);
    const runs = new Map<string, RoundFigures[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const connections of CONNECTIONS) {
        for (const t of targets) {
          const procs = procsOf(t.id);
          await sleep(500);
          const before = cpuSnapshot(procs);
          const result = await runner.run(t.id, connections, durationS);
          const after = cpuSnapshot(procs);
          const figures: RoundFigures = {
            round,
            result,
            cpu_ms_per_request: perUnit(before, after, result.requests),
            rss_mb_after: { api: rssMb(procs.api) ?? null, worker: rssMb(procs.worker) ?? null, simulator: rssMb(procs.simulator) ?? null, redis: rssMb(procs.redis) ?? null },
          };
          const key = `${t.id}@${connections}`;
          runs.set(key, [...(runs.get(key) ?? []), figures]);
          process.stderr.write(`  round ${round}/${rounds} · ${t.label} @${connections}: ${result.rps.toFixed(0)} req/s\n`);
        }
      }
    }
    cells = cellsFromRounds(targets, runs);
    await plain.stop();
    plain = undefined;
    await portkey?.stop();
    portkey = undefined;
    if (await batchesAvailable(stack.apiUrl, stack.apiKey)) {
      // Like every other cell, the batch row is measured warm: a smaller batch of the same workload goes first
      // (the sync cells above used only one provider and no batch path), and the plain drain warms up alike.
      await runBatch(stack.apiUrl, stack.apiKey, BATCH_WARMUP_ITEMS, batchTimeoutS);
      await sleep(500);
      const before = cpuSnapshot(pids);
      const figures = await runBatch(stack.apiUrl, stack.apiKey, batchItems, batchTimeoutS);
      const after = cpuSnapshot(pids);
      batch = { ...figures, warmup_items: BATCH_WARMUP_ITEMS, cpu_ms_per_item: perUnit(before, after, figures.completed + figures.failed) };
    }
    plainDrain = await measurePlainDrain(redisUrl, stack, pids.redis, batchItems, batchTimeoutS);
    if (!("unavailable" in batch) && !("unavailable" in plainDrain)) {
      batch.ratio_to_plain_drain = plainDrain.jobs_per_s > 0 ? batch.drain_items_per_s / plainDrain.jobs_per_s : null;
    }
    const inFlightConnections = Number(rawEnv("BENCH_INFLIGHT_CONNECTIONS") ?? 4000);
    if (inFlightConnections > 0) {
      try {
        // A stack of its own (2 s provider latency), so the first stack's processes sit idle meanwhile. At least
        // 20 s measured: llmq's answers come in waves (one second held 65 answers, the next 2,973), and a window
        // of a few waves counts one more or one less of them.
        inFlight = await measureInFlightRounds(rounds, { redisUrl, generator, connections: inFlightConnections, durationS: Math.max(durationS, IN_FLIGHT_MIN_S), redisPid: pids.redis });
      } catch (err) {
        // The table keeps the first line; the whole reason (a child's last output among it) goes to stderr.
        process.stderr.write(`  in flight not measured: ${err instanceof Error ? err.message : String(err)}\n`);
        inFlight = { unavailable: `failed (${err instanceof Error ? err.message.split("\n")[0] : String(err)})` };
      }
    }
  } finally {
    await plain?.stop().catch(() => undefined);
    await portkey?.stop().catch(() => undefined);
    runner.close();
    const deleted = await stack.stop();
    process.stderr.write(`stopped the bench's llmq; deleted ${deleted} keys under ${stack.prefix}:\n`);
  }

  const report: BenchReport = { started_at: started.toISOString(), commit, machine: m, generator, duration_per_cell_s: durationS, rounds, model: MODEL, cells, batch, plain_drain: plainDrain, in_flight: inFlight };
  console.log("");
  console.log(formatTable(tableRows(report)));
  console.log("");
  for (const line of markLines(report)) console.log(line);
  console.log("");
  console.log(`Sync rows: the round with the median req/s of ${rounds} (every target loaded once per round, back to back); the ratios`);
  console.log("are the medians of the ratios paired within each round, with their range across rounds in parentheses.");
  console.log("req/s and latency as seen by the load generator; × simulator = req/s over the bare simulator's at the same");
  console.log("connections; × plain = llmq unstructured req/s over the plain Express + BullMQ + waitUntilFinished build's");
  console.log("(load/src/baseline/) at the same connections, same simulator, Redis and worker concurrency; × Portkey = llmq");
  console.log("unstructured req/s over the Portkey gateway's (@portkey-ai/gateway in front of the same simulator, OpenAI provider");
  console.log("with a custom host; its process's CPU is in the API column) at the same connections;");
  console.log("cpu ms/req = utime+stime of each process during the cell / requests (Redis: the whole server).");
  if (!("unavailable" in report.batch)) {
    console.log(`Batch row: after an unmeasured ${BATCH_WARMUP_ITEMS}-item batch of the same workload, req/s = items finished per second`);
    console.log("from the POST to the batch's own finished_at (set by its last item's script); p50/p99 = GET /api/v1/batches/{id}");
    console.log("while it drains (every 200 ms); cpu ms/req = per item; errors = failed items; × plain = its items/s over the plain");
    console.log("drain's.");
  }
  if (!("unavailable" in plainDrain)) {
    console.log("Plain drain row: the same items added with addBulk to one plain BullMQ Worker calling the simulator through the");
    console.log("openai SDK (load/src/baseline/plain-drain.ts, its own process: its CPU is in the worker column), after it drained");
    console.log(`the workload's first ${BATCH_WARMUP_ITEMS} items unmeasured; req/s = jobs/s from the first add to the last completion.`);
  }
  if (report.in_flight !== undefined && !("unavailable" in report.in_flight)) {
    console.log(`In-flight rows: ${report.in_flight.connections} connections held open against a private llmq and simulator with a`);
    console.log(`${report.in_flight.latency_ms} ms provider latency and worker concurrency ${report.in_flight.connections}: ${report.in_flight.warmup_s} s of warm-up, then ${report.in_flight.duration_s} s measured; req/s and`);
    console.log("cpu ms/req = after the warm-up, p50/p99 = the whole cell; × simulator = llmq's req/s over the bare simulator's at the");
    console.log("same connections and latency (the provider's own rate); peak RSS sampled every 0.25 s over the whole cell.");
  }

  const dir = join(REPO_ROOT, "load", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(dir, `bench-${stamp}.json`), json);
  writeFileSync(join(dir, "bench-latest.json"), json);
  console.log(`figures: load/results/bench-${stamp}.json (and bench-latest.json)`);
}


/** The batch's workload through the plain drain, on the same simulator and Redis, with llmq's worker concurrency. */
async function measurePlainDrain(redisUrl: string, stack: Stack, redis: number | undefined, items: number, timeoutS: number): Promise<NonNullable<BenchReport["plain_drain"]>> {
  await sleep(500);
  const sim0 = cpuMs(stack.pids.simulator);
  const redis0 = cpuMs(redis);
  try {
    const f = await runPlainDrain({ redisUrl, simulatorUrl: stack.simulatorUrl, prefix: `${stack.prefix}-drain`, concurrency: 50, items, warmupItems: BATCH_WARMUP_ITEMS, timeoutS });
    const sim1 = cpuMs(stack.pids.simulator);
    const redis1 = cpuMs(redis);
    const n = f.completed + f.failed;
    // The simulator's and Redis's CPU is read around the whole process, warm-up items included.
    const all = n + f.warmup_items;
    const per = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined || n === 0 ? null : (b - a) / all);
    return { ...f, cpu_ms_per_item: { api: null, worker: n === 0 ? null : f.cpu_ms / n, simulator: per(sim0, sim1), redis: per(redis0, redis1) } };
  } catch (err) {
    return { unavailable: `failed (${err instanceof Error ? err.message.split("\n")[0] : String(err)})` };
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
