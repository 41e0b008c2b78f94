import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, readMaxmemoryPolicy, warnUnlessNoeviction } from "@llmq/shared";
import { freePort, startRedisServer } from "@llmq/shared/testing";
import { startStack, type Stack } from "../../services/api/test/helpers.js";

/** /livez, /readyz and the startup check of Redis's eviction policy. */
let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe("liveness and readiness", () => {
  it("/livez answers without a key; /readyz is 200 with Redis and a worker, 503 without a worker", async () => {
    s = await startStack("probes-ready");
    const live = await s.request("/livez", { as: null });
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: "ok" });
    const ready = await s.request("/readyz", { as: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", redis: "up", workers: 1 });
    // The health route reports the same queues and workers in full.
    const health = await s.request("/api/v1/health");
    expect(health.body).toMatchObject({ status: "ok", redis: "up", workers: 1 });
    expect(Object.keys(health.body.queues).sort()).toEqual(["jobs-anthropic", "jobs-groq", "jobs-openai"]);

    await s.worker!.close();
    // Health snapshots are reused for up to a second.
    await expect.poll(async () => (await s!.request("/readyz", { as: null })).status, { timeout: 5_000, interval: 200 }).toBe(503);
    expect((await s.request("/readyz", { as: null })).body).toEqual({ status: "not_ready", redis: "up", workers: 0, reason: "no worker is taking jobs" });
    expect((await s.request("/livez", { as: null })).status).toBe(200);
  });

  it("/readyz is 503 while draining for shutdown, and when Redis is unreachable; /livez stays 200", async () => {
    s = await startStack("probes-drain");
    s.runtime.deps.lifecycle.draining = true;
    expect(await s.request("/readyz", { as: null })).toMatchObject({ status: 503, body: { status: "draining" } });
    expect((await s.request("/livez", { as: null })).status).toBe(200);
    await s.close();

    s = await startStack("probes-noredis", { redisUrl: `redis://127.0.0.1:${await freePort()}`, worker: false });
    const r = await s.request("/readyz", { as: null });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: "not_ready", redis: "down", reason: "redis is not reachable" });
    expect((await s.request("/livez", { as: null })).status).toBe(200);
  });
});

function capture(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ service: "ops-test", level: "info", destination }), lines };
}

/** Just enough of a Redis connection for the policy check. */
function fakeRedis(config: () => Promise<unknown>, info: () => Promise<string>): Redis {
  return { call: config, info } as unknown as Redis;
}

describe("the maxmemory-policy check at startup", () => {
  it("warns, with the fix, when the policy evicts; reads INFO when CONFIG is refused (managed Redis); stays quiet on noeviction", async () => {
    const { logger, lines } = capture();
    expect(await warnUnlessNoeviction(fakeRedis(async () => ["maxmemory-policy", "noeviction"], async () => ""), logger)).toBe("noeviction");
    expect(lines).toHaveLength(0);

    const refused = fakeRedis(async () => Promise.reject(new Error("ERR unknown command 'CONFIG'")), async () => "# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n");
    expect(await readMaxmemoryPolicy(refused)).toBe("allkeys-lru");
    await warnUnlessNoeviction(refused, logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", maxmemory_policy: "allkeys-lru" });
    expect(String(lines[0]!.msg)).toMatch(/Fix: set maxmemory-policy noeviction/);

    const silent = fakeRedis(async () => Promise.reject(new Error("NOPERM")), async () => Promise.reject(new Error("NOPERM")));
    expect(await warnUnlessNoeviction(silent, logger)).toBeUndefined();
    expect(lines[1]).toMatchObject({ level: "info" });
  });

  it.skipIf(spawnSync("redis-server", ["--version"]).status !== 0)("a real Redis started with allkeys-lru gets the warning", async () => {
    const redis = await startRedisServer(["--maxmemory-policy", "allkeys-lru"]);
    const { Redis: Client } = await import("ioredis");
    const client = new Client(redis.url);
    try {
      const { logger, lines } = capture();
      expect(await warnUnlessNoeviction(client, logger)).toBe("allkeys-lru");
      expect(lines.some((l) => l.level === "warn" && l.maxmemory_policy === "allkeys-lru")).toBe(true);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
