import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClosedLoop } from "./closed-loop.js";
import type { LoadResult } from "./load-result.js";
import { cpuMs, sampleRss } from "./proc-stats.js";
import { REPO_ROOT, startStack } from "./stack.js";
import { runWrk } from "./wrk.js";

/**
 * The in-flight cell: many sync requests held open at once against a slow provider (2 s per answer), where what
 * counts is how much of the provider's own rate llmq passes through and how much memory it takes to hold them.
 * A private llmq with SIM_LATENCY_MS=2000 and a worker concurrency equal to the connections; the bare simulator at
 * the same connections and latency, in the same harness, is the provider's own rate.
 *
 * Each cell runs a warm-up first, on the same connections without a break, and its rate is the steady one
 * after it (`rps`): the first answers of 4,000 connections opened at once come only after the first 2 s for
 * the provider, and after however long the first 4,000 jobs take to get through for llmq, so a whole-run
 * rate would mostly measure how long each takes to fill its pipeline. CPU per request covers the same
 * steady window; peak RSS the whole cell.
 */

type InFlightProc = "api" | "worker" | "simulator" | "redis";

export interface InFlightCell {
  /** The whole cell as the generator saw it (warm-up included; its latencies are the whole cell's). */
  result: LoadResult;
  /** Answers per second after the warm-up. */
  rps: number;
  cpu_ms_per_request: Record<InFlightProc, number | null>;
  peak_rss_mb: Record<InFlightProc, number | null>;
}

export interface InFlightFigures {
  connections: number;
  latency_ms: number;
  duration_s: number;
  /** Seconds of warm-up before the measured window, in each cell. */
  warmup_s: number;
  /** The soft open-files limit the processes inherit, which caps the connections. */
  nofile_limit: number | null;
  provider: InFlightCell;
  llmq: InFlightCell;
  /** llmq's req/s over the bare simulator's. */
  ratio_to_provider: number | null;
}

const LATENCY_MS = 2000;
/** Enough for 4,000 connections to fill either pipeline on a two-core machine (about three provider latencies). */
export const DEFAULT_WARMUP_S = 8;

/** The soft RLIMIT_NOFILE children inherit (Node cannot raise it itself: run `ulimit -n` higher before the bench). */
export function nofileLimit(): number | null {
  try {
    const n = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * The connections the machine allows, up to `wanted`: each process holds at most two sockets per connection in
 * flight (the API's client side and its Redis, the worker's upstream, the simulator's server side), plus headroom.
 */
export function inFlightConnections(wanted: number, limit: number | null): number {
  if (limit === null) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor((limit - 256) / 2)));
}

export async function measureInFlight(opts: { redisUrl: string; generator: "wrk" | "node"; connections: number; durationS: number; warmupS?: number; redisPid: number | undefined }): Promise<InFlightFigures> {
  const warmupS = opts.warmupS ?? DEFAULT_WARMUP_S;
  const totalS = warmupS + opts.durationS;
  const limit = nofileLimit();
  const connections = inFlightConnections(opts.connections, limit);
  const stack = await startStack({ redisUrl: opts.redisUrl, env: { SIM_LATENCY_MS: String(LATENCY_MS), WORKER_CONCURRENCY: String(connections) } });
  const dir = mkdtempSync(join(tmpdir(), "llmq-inflight-"));
  try {
    const simBody = join(dir, "simulator.json");
    const llmqBody = join(dir, "unstructured.json");
    const prompt = "Write a detailed product description for a smartphone";
    const simJson = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }], max_tokens: 100 });
    const llmqJson = JSON.stringify({ model: "gpt-4o-mini", prompt, max_tokens: 100 });
    writeFileSync(simBody, simJson);
    writeFileSync(llmqBody, llmqJson);
    const pids: Record<InFlightProc, number | undefined> = { api: stack.pids.api, worker: stack.pids.worker, simulator: stack.pids.simulator, redis: opts.redisPid };
    const cell = async (url: string, path: string, bodyFile: string, body: string, headers: Record<string, string>): Promise<InFlightCell> => {
      const rss = sampleRss(pids);
      // CPU from the end of the warm-up to the end of the cell, per answer in that window.
      let before: Record<InFlightProc, number | undefined> | undefined;
      const mark = setTimeout(() => (before = { api: cpuMs(pids.api), worker: cpuMs(pids.worker), simulator: cpuMs(pids.simulator), redis: cpuMs(pids.redis) }), warmupS * 1000);
      const markedAt = performance.now() + warmupS * 1000;
      const result =
        opts.generator === "wrk"
          ? await runWrk({ url: `${url}${path}`, connections, durationS: totalS, steadyAfterS: warmupS, script: "load/wrk/post_json.lua", headers: { ...headers, "Content-Type": "application/json" }, env: { WRK_BODY_FILE: bodyFile }, cwd: REPO_ROOT, timeoutS: 30 })
          : await runClosedLoop({ origin: url, connections, durationS: totalS, steadyAfterS: warmupS, headers, next: () => ({ path, body }) });
      clearTimeout(mark);
      const windowS = (performance.now() - markedAt) / 1000;
      const peak = rss.stop();
      const rps = result.steady_rps ?? result.rps;
      const answers = rps * windowS;
      const per = (k: InFlightProc): number | null => {
        const a = before?.[k];
        const b = cpuMs(pids[k]);
        return a === undefined || b === undefined || answers <= 0 ? null : (b - a) / answers;
      };
      return { result, rps, cpu_ms_per_request: { api: per("api"), worker: per("worker"), simulator: per("simulator"), redis: per("redis") }, peak_rss_mb: peak };
    };
    const provider = await cell(stack.simulatorUrl, "/v1/chat/completions", simBody, simJson, { Authorization: "Bearer bench" });
    await new Promise((r) => setTimeout(r, 1000));
    const llmq = await cell(stack.apiUrl, "/api/v1/unstructured", llmqBody, llmqJson, { "X-API-Key": stack.apiKey });
    return {
      connections,
      latency_ms: LATENCY_MS,
      duration_s: opts.durationS,
      warmup_s: warmupS,
      nofile_limit: limit,
      provider,
      llmq,
      ratio_to_provider: provider.rps > 0 ? llmq.rps / provider.rps : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}
