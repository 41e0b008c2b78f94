import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import { defaultJobOptions, rawEnv, type Config, type JobPayload } from "@llmq/shared";

/**
 * llmq's services as real processes, the way operators run them: `node services/<x>/dist/main.js` (npm test
 * builds dist/ before vitest runs), settings only through the environment, logs read from stdout.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const MAINS = {
  api: join(ROOT, "services/api/dist/main.js"),
  worker: join(ROOT, "services/worker/dist/main.js"),
  simulator: join(ROOT, "services/simulator/dist/main.js"),
} as const;

export interface Proc {
  child: ChildProcess;
  /** Parsed JSON log lines (stdout), in order. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and when it happened. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves once a log line's msg matches. */
  logged(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (or the given signal) and, after `killAfterMs`, SIGKILL; resolves on exit. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const running = new Set<Proc>();

export function startService(name: keyof typeof MAINS, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [MAINS[name]], {
    cwd: ROOT,
    // Only what is given, plus PATH: no .env from the working directory, no developer settings.
    env: { PATH: rawEnv("PATH") ?? "", ENV_FILE: "/nonexistent/.env", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let err = "";
  let partial = "";
  const waiters: Array<{ re: RegExp; resolve: (l: Record<string, unknown>) => void }> = [];
  child.stdout?.on("data", (b: Buffer) => {
    const lines = (partial + b.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.re.test(String(parsed.msg))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr?.on("data", (b: Buffer) => (err += b.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.once("exit", (code, signal) => r({ code, signal, at: performance.now() })),
  );
  const proc: Proc = {
    child,
    logs,
    stderr: () => err,
    exited,
    logged(re, timeoutMs = 20_000) {
      const seen = logs.find((l) => re.test(String(l.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no log line matching ${re} within ${timeoutMs} ms; stderr: ${err.slice(-500)}`)), timeoutMs);
        const done = (l: Record<string, unknown>): void => {
          clearTimeout(timer);
          resolve(l);
        };
        waiters.push({ re, resolve: done });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${name} exited before logging ${re}; stderr: ${err.slice(-500)}`));
        });
      });
    },
    async stop(signal = "SIGTERM", killAfterMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** For afterEach: kills whatever a test left running. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}

/** A plain unstructured job, enqueued exactly as the API enqueues it. */
export async function enqueueUnstructured(queue: Queue, config: Config, prompt: string, model = "gpt-3.5-turbo"): Promise<string> {
  const jobId = randomUUID();
  const payload: JobPayload = {
    type: "unstructured",
    model,
    provider: "openai",
    owner: "ops-test",
    request_id: randomUUID(),
    created_at: Date.now(),
    messages: [{ role: "user", content: prompt }],
  };
  await queue.add(payload.type, payload, { jobId, ...defaultJobOptions(config) });
  return jobId;
}

export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
