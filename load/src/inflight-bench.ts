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
 */

type InFlightProc = "api" | "worker" | "simulator" | "redis";

export interface InFlightCell {
  result: LoadResult;
  cpu_ms_per_request: Record<InFlightProc, number | null>;
  peak_rss_mb: Record<InFlightProc, number | null>;
}

export interface InFlightFigures {
  connections: number;
  latency_ms: number;
  duration_s: number;
  /** The soft open-files limit the processes inherit, which caps the connections. */
  nofile_limit: number | null;
  provider: InFlightCell;
  llmq: InFlightCell;
  /** llmq's req/s over the bare simulator's. */
  ratio_to_provider: number | null;
}

const LATENCY_MS = 2000;

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

export async function measureInFlight(opts: { redisUrl: string; generator: "wrk" | "node"; connections: number; durationS: number; redisPid: number | undefined }): Promise<InFlightFigures> {
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
      const before = { api: cpuMs(pids.api), worker: cpuMs(pids.worker), simulator: cpuMs(pids.simulator), redis: cpuMs(pids.redis) };
      const rss = sampleRss(pids);
      const result =
        opts.generator === "wrk"
          ? await runWrk({ url: `${url}${path}`, connections, durationS: opts.durationS, script: "load/wrk/post_json.lua", headers: { ...headers, "Content-Type": "application/json" }, env: { WRK_BODY_FILE: bodyFile }, cwd: REPO_ROOT, timeoutS: 30 })
          : await runClosedLoop({ origin: url, connections, durationS: opts.durationS, headers, next: () => ({ path, body }) });
      const peak = rss.stop();
      const per = (k: InFlightProc): number | null => {
        const a = before[k];
        const b = cpuMs(pids[k]);
        return a === undefined || b === undefined || result.requests === 0 ? null : (b - a) / result.requests;
      };
      return { result, cpu_ms_per_request: { api: per("api"), worker: per("worker"), simulator: per("simulator"), redis: per("redis") }, peak_rss_mb: peak };
    };
    const provider = await cell(stack.simulatorUrl, "/v1/chat/completions", simBody, simJson, { Authorization: "Bearer bench" });
    await new Promise((r) => setTimeout(r, 1000));
    const llmq = await cell(stack.apiUrl, "/api/v1/unstructured", llmqBody, llmqJson, { "X-API-Key": stack.apiKey });
    return {
      connections,
      latency_ms: LATENCY_MS,
      duration_s: opts.durationS,
      nofile_limit: limit,
      provider,
      llmq,
      ratio_to_provider: provider.result.rps > 0 ? llmq.result.rps / provider.result.rps : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}
