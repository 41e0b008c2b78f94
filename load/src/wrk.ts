import { spawn, spawnSync } from "node:child_process";
import { processEnv } from "@llmq/shared";
import type { LoadResult } from "./load-result.js";

/** True when a `wrk` binary answers on PATH. */
export function hasWrk(): boolean {
  const r = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  return r.error === undefined;
}

export interface WrkRun {
  url: string;
  connections: number;
  durationS: number;
  /** A script under load/wrk/ (or load/batch_test.lua): every llmq script prints the LLMQ_RESULT line. */
  script: string;
  headers: Record<string, string>;
  env?: Record<string, string>;
  cwd: string;
  /** wrk's per-request timeout (its default, 2 s, would count every answer of a 2 s provider as a timeout). */
  timeoutS?: number;
  /** Also report the answers per second from this many seconds in (steady_rps; report.lua's WRK_STEADY_AFTER_S). */
  steadyAfterS?: number;
}

/**
 * Runs wrk and returns the figures of its LLMQ_RESULT line. wrk is C and event-driven: on a two-core machine it
 * leaves far more CPU to the processes under test than a Node generator would.
 */
export async function runWrk(run: WrkRun): Promise<LoadResult> {
  const threads = Math.max(1, Math.min(2, run.connections));
  const args = [`-t${threads}`, `-c${run.connections}`, `-d${run.durationS}s`, "--latency", "-s", run.script];
  if (run.timeoutS !== undefined) args.push("--timeout", `${run.timeoutS}s`);
  for (const [name, value] of Object.entries(run.headers)) args.push("-H", `${name}: ${value}`);
  args.push(run.url);
  const child = spawn("wrk", args, { cwd: run.cwd, env: { ...processEnv(), ...run.env, ...(run.steadyAfterS !== undefined && { WRK_STEADY_AFTER_S: String(run.steadyAfterS) }) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const line = out.split("\n").reverse().find((l) => l.startsWith("LLMQ_RESULT "));
  if (line === undefined) throw new Error(`wrk exited with ${code} and printed no LLMQ_RESULT line:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice("LLMQ_RESULT ".length)) as LoadResult;
}
