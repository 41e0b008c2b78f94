import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { rawEnv } from "../config/load-config.js";

/**
 * Finds a Redis for the test run, in this order: REDIS_URL; a Redis on 127.0.0.1:6379; a private
 * `redis-server` on a free port; a testcontainers Redis (machines with Docker). Fails saying how to fix it.
 * Tests never flush: each one works under its own key prefix (`testPrefix`) and deletes only that.
 */
export interface RedisHandle {
  url: string;
  stop(): Promise<void>;
}

export async function ping(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on("error", () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Resolves true when a listener can take 127.0.0.1:`port` now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** The lowest port the kernel hands to outgoing connections (ip_local_port_range; Linux's default 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Where freePort looks first: below the ephemeral range, above the well-known and registered ports most used. */
const PICK_FROM = 12_000;

/**
 * A loopback port free now, for a service started right after. It is picked below the kernel's ephemeral range:
 * a port from that range (what `listen(0)` gives) can be taken by any outgoing connection on the machine between
 * this check and the service's own listen (the likely reason a bench's API once failed to start right after
 * cells that opened thousands). Falls back to an ephemeral port when nothing below is free.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < 50 && low - PICK_FROM > 100; i++) {
    const port = PICK_FROM + Math.floor(Math.random() * (low - PICK_FROM));
    if (await canListen(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private, non-persistent redis-server on a free port. With `clusterBus`, its cluster bus gets a free
 * port of its own too (Redis's default, port + 10000, is checked by nobody). A server that does not answer
 * within 5 s (its port taken in between, say) is killed and started again on other ports, twice at most.
 */
export async function startRedisServer(extraArgs: string[] = [], opts: { clusterBus?: boolean } = {}): Promise<RedisHandle & { port: number; process: ChildProcess }> {
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const bus = opts.clusterBus === true ? ["--cluster-port", String(await freePort())] : [];
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...bus, ...extraArgs], { stdio: "ignore" });
    const failed = new Promise<never>((_, reject) => child.once("error", reject));
    const exited = new Promise<false>((resolve) => child.once("exit", () => resolve(false)));
    const url = `redis://127.0.0.1:${port}`;
    const stop = (): Promise<void> =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      });
    const deadline = Date.now() + 5000;
    let ok = false;
    while (!ok && Date.now() < deadline && child.exitCode === null) {
      ok = await Promise.race([ping(url, 200), failed, exited]);
      if (!ok) await new Promise((r) => setTimeout(r, 50));
    }
    if (ok) return { url, port, process: child, stop };
    last = child.exitCode !== null ? `exited with ${child.exitCode}` : "did not answer within 5 s";
    await stop();
  }
  throw new Error(`redis-server did not start on a free port in 3 attempts (last: ${last})`);
}

export async function acquireTestRedis(): Promise<RedisHandle> {
  const fromEnv = rawEnv("REDIS_URL");
  if (fromEnv !== undefined && fromEnv !== "") {
    if (await ping(fromEnv)) return { url: fromEnv, stop: async () => undefined };
    throw new Error(`REDIS_URL is set but no Redis answers there. Fix: start Redis at that address, or unset REDIS_URL.`);
  }
  const local = "redis://127.0.0.1:6379";
  if (await ping(local)) return { url: local, stop: async () => undefined };
  try {
    const handle = await startRedisServer();
    if (await ping(handle.url)) return handle;
    await handle.stop();
  } catch {
    // no redis-server on PATH; try containers next
  }
  try {
    const { GenericContainer } = await import("testcontainers");
    const container = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
    return { url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`, stop: async () => void (await container.stop()) };
  } catch {
    throw new Error(
      "No Redis for the tests. Fix one of: set REDIS_URL; run Redis on 127.0.0.1:6379 (`redis-server --daemonize yes`); put `redis-server` on PATH (apt-get install redis-server); or run Docker for testcontainers.",
    );
  }
}

/** A key prefix unique to this test run and name; safe next to any other data in the same Redis. */
export function testPrefix(name = "t"): string {
  return `llmqtest-${name.replace(/[^A-Za-z0-9_.-]/g, "")}-${randomBytes(4).toString("hex")}`;
}

export { deletePrefix } from "../redis/delete-prefix.js";
