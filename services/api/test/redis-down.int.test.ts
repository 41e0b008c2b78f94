import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, ping, startRedisServer } from "@llmq/shared/testing";
import { eventually, startStack, type Stack } from "./helpers.js";

let s: Stack | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await s?.close();
  s = undefined;
  for (const c of cleanups.splice(0)) await c();
});

describe("when Redis is down", () => {
  it("an API pointed at a dead Redis answers job routes 503 QUEUE_UNAVAILABLE within a second, and health 503", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    s = await startStack("deadredis", { worker: false, redisUrl: dead });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: "x" } });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("QUEUE_UNAVAILABLE");
    expect(r.headers.get("retry-after")).toBe("1");
    expect(r.ms).toBeLessThan(1000);
    const health = await s.request("/api/v1/health", { as: null });
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: "unavailable" });
    expect((await s.request("/api/v1/jobs/00000000-0000-4000-8000-000000000000")).status).toBe(503);
    // What needs no Redis still answers.
    expect((await s.request("/api/v1/models")).status).toBe(200);
  });

  it("a Redis that dies under a running API turns requests into fast 503s, and the API recovers when it is back", async () => {
    const redis = await startRedisServer();
    let stopped = false;
    cleanups.push(async () => void (stopped || (await redis.stop())));
    s = await startStack("redisdies", { worker: false, redisUrl: redis.url });
    expect((await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "before" } })).status).toBe(202);

    await redis.stop();
    stopped = true;
    const down = await eventually(async () => {
      const r = await s!.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "during" } });
      return r.status === 503 ? r : undefined;
    });
    expect(down.ms).toBeLessThan(1000);
    const sync = await s.request("/api/v1/unstructured?wait=5", { body: { model: "gpt-4", prompt: "during" } });
    expect(sync.status).toBe(503);
    expect(sync.ms).toBeLessThan(1000);

    // The same port again: the producer and the subscriber reconnect by themselves.
    const child = spawn("redis-server", ["--port", String(redis.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    cleanups.push(async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
    });
    await eventually(async () => ((await ping(redis.url)) ? true : undefined));
    const back = await eventually(async () => {
      const r = await s!.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "after" } });
      return r.status === 202 ? r : undefined;
    }, 15_000);
    expect(back.body.status).toBe("queued");
    await eventually(async () => (s!.runtime.deps.waiter.ready ? true : undefined), 15_000);
  });
  it("a full Redis (maxmemory reached under noeviction) answers 503 QUEUE_UNAVAILABLE, not 500", async () => {
    const redis = await startRedisServer(["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]);
    cleanups.push(() => redis.stop());
    s = await startStack("redisfull", { worker: false, redisUrl: redis.url });
    const filler = new Redis(redis.url);
    cleanups.push(async () => void filler.disconnect());
    // Fill it until Redis refuses a write: every write after that is refused too.
    const chunk = "x".repeat(16 * 1024);
    let refused: Error | undefined;
    for (let i = 0; i < 2000 && refused === undefined; i++) await filler.append("filler", chunk).catch((err: Error) => (refused = err));
    expect(refused?.message).toMatch(/^OOM/);
    const r = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: "no room" } });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("QUEUE_UNAVAILABLE");
    expect(r.headers.get("retry-after")).toBe("1");
  });
});
