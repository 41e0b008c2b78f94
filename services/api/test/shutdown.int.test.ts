import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createKeys, createLogger, parseConfig } from "@llmq/shared";
import { deletePrefix, freePort, testPrefix } from "@llmq/shared/testing";
import { createSimulator, type Simulator } from "../../simulator/src/index.js";
import { createWorkerService, type WorkerService } from "../../worker/src/index.js";

/** The API process (dist/main.js) on SIGTERM: sync waits finish within the grace period, the rest get a 202. */
const main = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "dist", "main.js");

let api: ChildProcess | undefined;
let sim: Simulator | undefined;
let worker: WorkerService | undefined;
let prefix = "";
afterEach(async () => {
  if (api && api.exitCode === null && api.signalCode === null) {
    const exited = new Promise((r) => api!.once("exit", r));
    api.kill("SIGKILL");
    await exited;
  }
  await worker?.close();
  await sim?.close();
  const redis = new Redis(inject("redisUrl"));
  await deletePrefix(redis, prefix);
  await redis.quit();
  api = undefined;
  worker = undefined;
  sim = undefined;
});

async function startSystem(graceMs: number): Promise<{ base: string; exited: Promise<number | null> }> {
  sim = createSimulator({ latencyMs: 1000 });
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  prefix = testPrefix("api-shutdown");
  const env = { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix, PROVIDER_MODE: "simulate", SIMULATOR_URL: simUrl, API_KEY: "k" };
  worker = createWorkerService({ config: parseConfig(env), logger: createLogger({ service: "worker", level: "silent" }) });
  await worker.start();
  const port = await freePort();
  api = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: "127.0.0.1", API_SHUTDOWN_GRACE_MS: String(graceMs), LOG_LEVEL: "warn", ENV_FILE: "/nonexistent/.env" },
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((r) => api!.once("exit", (code) => r(code)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${base}/api/v1/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, exited };
}

const job = (base: string) =>
  fetch(`${base}/api/v1/unstructured?wait=30`, { method: "POST", headers: { "X-API-Key": "k", "Content-Type": "application/json" }, body: JSON.stringify({ model: "gpt-4", prompt: "slow" }) });

describe("API shutdown", () => {
  it("on SIGTERM, a sync request in flight still gets its 200 within the grace period, then the process exits 0", async () => {
    const { base, exited } = await startSystem(10_000);
    const pending = job(base);
    await new Promise((r) => setTimeout(r, 300));
    api!.kill("SIGTERM");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe("unstructured");
    expect(await exited).toBe(0);
  });

  it("when the grace period ends first, the waiting request is handed over with a 202 and its job still completes", async () => {
    const { base, exited } = await startSystem(100);
    const pending = job(base);
    await new Promise((r) => setTimeout(r, 300));
    api!.kill("SIGTERM");
    const res = await pending;
    expect(res.status).toBe(202);
    expect(res.headers.get("location")).toMatch(/^\/api\/v1\/jobs\//);
    expect(await exited).toBe(0);
    const id = ((await res.json()) as { id: string }).id;
    const redis = new Redis(inject("redisUrl"));
    const resultKey = createKeys(prefix).result(id);
    for (let i = 0; i < 100 && (await redis.get(resultKey)) === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse((await redis.get(resultKey)) ?? "{}").status).toBe("completed");
    await redis.quit();
  });
});
