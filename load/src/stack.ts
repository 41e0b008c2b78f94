import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeQuietly, createProducerConnection, deletePrefix, processEnv, waitForReady } from "@llmq/shared";
import { freePort } from "@llmq/shared/testing";

/**
 * A private llmq for one benchmark or test run: the simulator, the API and a worker, each the built
 * `services/<name>/dist/main.js` started as its own process (as `npm start` and the Dockerfiles run them),
 * on free loopback ports, under a Redis key prefix of its own.
 *
 * Invariant: stop() leaves nothing behind. Every child is signalled and reaped (SIGKILL after a grace period),
 * and only keys under this stack's prefix are deleted, with SCAN + UNLINK: the Redis may be shared, so
 * never FLUSHDB.
 */

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const SERVICES = ["simulator", "api", "worker"] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  redisUrl: string;
  /** Default: a fresh `llmqbench-<random>`. */
  prefix?: string;
  /** Default: a fresh random key. */
  apiKey?: string;
  /** More environment for every child (e.g. SIM_LATENCY_MS, WORKER_CONCURRENCY). */
  env?: Record<string, string>;
  /** Worker processes (default 1), as `npm run start:worker` several times. */
  workers?: number;
  startTimeoutMs?: number;
}

export interface Stack {
  apiUrl: string;
  simulatorUrl: string;
  apiKey: string;
  prefix: string;
  redisUrl: string;
  pids: Partial<Record<ServiceName, number>>;
  /** Every worker process's pid (pids.worker is the first). */
  workerPids: number[];
  /** Idempotent. Stops the processes, then deletes this stack's keys. Returns how many keys it deleted. */
  stop(): Promise<number>;
}

interface Child {
  name: ServiceName;
  proc: ChildProcess;
  output: string[];
}

export function servicePath(name: ServiceName): string {
  return join(REPO_ROOT, "services", name, "dist", "main.js");
}

/** The services whose build is missing (run `npm run build` first). */
export function missingBuilds(): string[] {
  return SERVICES.map(servicePath).filter((p) => !existsSync(p));
}

/** A free loopback port, picked below the kernel's ephemeral range (see @llmq/shared/testing). */
export { freePort };

/** A service's own V8 flags (services/<name>/node-flags.json), as its image's CMD and `npm start` pass them. */
export function nodeFlags(name: ServiceName): string[] {
  const file = join(REPO_ROOT, "services", name, "node-flags.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as string[]) : [];
}

function startChild(name: ServiceName, env: Record<string, string | undefined>): Child {
  const proc = spawn(process.execPath, [...nodeFlags(name), servicePath(name)], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString("utf8"));
    if (output.length > 50) output.shift();
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  return { name, proc, output };
}

function alive(child: Child): boolean {
  return child.proc.exitCode === null && child.proc.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export function terminate(proc: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}



const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, children: Child[], deadline: number, probe: () => Promise<boolean>): Promise<void> {
  for (;;) {
    const dead = children.find((c) => !alive(c));
    if (dead !== undefined) {
      throw new Error(`${dead.name} exited (${dead.proc.exitCode ?? dead.proc.signalCode}) while waiting for ${what}:\n${dead.output.join("").slice(-3000)}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last output:\n${children.map((c) => `[${c.name}] ${c.output.join("").slice(-1000)}`).join("\n")}`);
    }
    await sleep(100);
  }
}

/** Deletes this stack's keys (SCAN + UNLINK under `${prefix}:`; never FLUSH, the Redis may be shared). */
export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_.{}-]+$/.test(prefix)) throw new Error(`refusing to delete keys for an unusual prefix "${prefix}"`);
  const redis = createProducerConnection(redisUrl, { lazyConnect: false });
  try {
    await waitForReady(redis, 5000);
    return await deletePrefix(redis, prefix);
  } finally {
    await closeQuietly(redis);
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const missing = missingBuilds();
  if (missing.length > 0) throw new Error(`llmq is not built (${missing.join(", ")} missing): run \`npm run build\` first`);
  const prefix = options.prefix ?? `llmqbench-${randomBytes(4).toString("hex")}`;
  const apiKey = options.apiKey ?? `bench-${randomBytes(12).toString("hex")}`;
  const [apiPort, simPort] = [await freePort(), await freePort()];
  const simulatorUrl = `http://127.0.0.1:${simPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env: Record<string, string | undefined> = {
    ...processEnv(),
    // The stack is configured here and nowhere else: a developer's .env must not change what is measured.
    ENV_FILE: "/dev/null",
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: prefix,
    API_KEY: apiKey,
    API_KEYS: undefined,
    HOST: "127.0.0.1",
    PORT: String(apiPort),
    SIMULATOR_HOST: "127.0.0.1",
    SIMULATOR_PORT: String(simPort),
    SIMULATOR_URL: simulatorUrl,
    PROVIDER_MODE: "simulate",
    SIM_LATENCY_MS: "0",
    SIM_FAULTS: "",
    SIM_LIMITS: "",
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_MIN: "0",
    NODE_ENV: "production",
    ...options.env,
  };
  const children: Child[] = [];
  let stopped: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    stopped ??= (async () => {
      // The API first (no new jobs), then the worker (finishes what it holds), then the simulator.
      for (const name of ["api", "worker", "simulator"] as const) {
        await Promise.all(children.filter((c) => c.name === name).map((c) => terminate(c.proc, 15_000)));
      }
      return deletePrefixKeys(options.redisUrl, prefix);
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (const name of SERVICES) {
      const count = name === "worker" ? Math.max(1, options.workers ?? 1) : 1;
      for (let i = 0; i < count; i++) children.push(startChild(name, env));
    }
    await until("the simulator", children, deadline, async () => (await fetch(`${simulatorUrl}/__sim/health`)).ok);
    await until("the API", children, deadline, async () => (await fetch(`${apiUrl}/api/v1/health`)).ok);
    // A job that completes proves a worker is consuming.
    await until("a worker to complete a job", children, deadline, async () => {
      const res = await fetch(`${apiUrl}/api/v1/unstructured?wait=5`, {
        method: "POST",
        headers: { "x-api-key": apiKey, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", prompt: "ping", max_tokens: 5 }),
      });
      await res.arrayBuffer();
      return res.status === 200;
    });
  } catch (err) {
    await stop().catch(() => 0);
    throw err;
  }

  const pids: Partial<Record<ServiceName, number>> = {};
  for (const c of children) if (c.proc.pid !== undefined) pids[c.name] ??= c.proc.pid;
  const workerPids = children.filter((c) => c.name === "worker" && c.proc.pid !== undefined).map((c) => c.proc.pid as number);
  return { apiUrl, simulatorUrl, apiKey, prefix, redisUrl: options.redisUrl, pids, workerPids, stop };
}
