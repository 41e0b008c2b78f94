import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { processEnv } from "@llmq/shared";
import { deletePrefixKeys, freePort, REPO_ROOT, terminate } from "../stack.js";
import type { PlainDrainFigures } from "./plain-drain.js";

/**
 * The plain build (plain-build.ts) as two processes, API and worker, against the bench's own simulator and
 * Redis, under a prefix of its own: the same shape as llmq's stack, so CPU per request compares like for like.
 */
export interface BaselineStack {
  url: string;
  pids: { api: number | undefined; worker: number | undefined };
  stop(): Promise<number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startBaseline(opts: { redisUrl: string; simulatorUrl: string; prefix: string; concurrency: number }): Promise<BaselineStack> {
  const port = await freePort();
  const script = join(REPO_ROOT, "load", "dist", "baseline", "plain-build.js");
  const env = { ...processEnv(), PORT: String(port), REDIS_URL: opts.redisUrl, BASELINE_PREFIX: opts.prefix, SIMULATOR_URL: opts.simulatorUrl, WORKER_CONCURRENCY: String(opts.concurrency) };
  const procs: ChildProcess[] = ["api", "worker"].map((role) => spawn(process.execPath, [script, role], { cwd: REPO_ROOT, env, stdio: "ignore" }));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<number> => {
    await Promise.all(procs.map((p) => terminate(p, 10_000)));
    return deletePrefixKeys(opts.redisUrl, opts.prefix);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/v1/unstructured`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", prompt: "ping", max_tokens: 5 }), signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || procs.some((p) => p.exitCode !== null)) {
      await stop();
      throw new Error("the plain baseline build did not start (is load/dist built?)");
    }
    await sleep(200);
  }
  return { url, pids: { api: procs[0]?.pid, worker: procs[1]?.pid }, stop };
}

/**
 * Runs the plain BullMQ + SDK drain (plain-drain.ts) as its own process and returns its figures;
 * deletes its prefix's keys afterwards.
 */
export async function runPlainDrain(opts: { redisUrl: string; simulatorUrl: string; prefix: string; concurrency: number; items: number; warmupItems?: number; timeoutS: number }): Promise<PlainDrainFigures> {
  const script = join(REPO_ROOT, "load", "dist", "baseline", "plain-drain.js");
  const env = {
    ...processEnv(),
    REDIS_URL: opts.redisUrl,
    BASELINE_PREFIX: opts.prefix,
    SIMULATOR_URL: opts.simulatorUrl,
    WORKER_CONCURRENCY: String(opts.concurrency),
    DRAIN_ITEMS: String(opts.items),
    DRAIN_WARMUP_ITEMS: String(opts.warmupItems ?? 0),
    DRAIN_TIMEOUT_S: String(opts.timeoutS),
  };
  const child = spawn(process.execPath, [script], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (out = (out + s).slice(-20_000)));
  const kill = setTimeout(() => child.kill("SIGKILL"), (2 * opts.timeoutS + 60) * 1000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    const line = out.split("\n").find((l) => l.startsWith("DRAIN_RESULT "));
    if (line === undefined) throw new Error(`the plain drain exited with ${code} and printed no DRAIN_RESULT line:\n${out.slice(-2000)}`);
    return JSON.parse(line.slice("DRAIN_RESULT ".length)) as PlainDrainFigures;
  } finally {
    clearTimeout(kill);
    await deletePrefixKeys(opts.redisUrl, opts.prefix);
  }
}
