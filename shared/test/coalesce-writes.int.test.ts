import type { Socket } from "node:net";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { coalesceWrites, createWorkerConnection, type RedisConnection } from "../src/redis/index.js";
import { deletePrefix, testPrefix } from "../src/testing/index.js";
import { testRedisTarget } from "../../test/redis-target.js";

/**
 * coalesceWrites against a real Redis: a command sent on a connection at rest is written at once; the commands
 * sent while it awaits its reply (here from separate callbacks) leave together in one socket write once the reply
 * arrives; replies come back right and in order; a reconnected socket is coalesced too.
 */
let conn: RedisConnection | undefined;
afterEach(async () => {
  if (conn !== undefined) await conn.quit().catch(() => conn?.disconnect());
  conn = undefined;
});

/** Counts the writes that reach a single connection's socket (_write or _writev calls), from now on. */
function countSocketWrites(redis: Redis): { writes: () => number } {
  const socket = (redis as unknown as { stream: Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } }).stream;
  let writes = 0;
  const w = socket._write.bind(socket);
  const wv = socket._writev.bind(socket);
  socket._write = (...a: unknown[]) => {
    writes++;
    w(...a);
  };
  socket._writev = (...a: unknown[]) => {
    writes++;
    wv(...a);
  };
  return { writes: () => writes };
}

/**
 * Five SETs and GETs, each from its own callback: five immediates queued together run in one check phase, before
 * any reply can be read (replies are read in the poll phase), so what is asserted does not depend on timing.
 */
async function fromFiveCallbacks(redis: RedisConnection, prefix: string): Promise<string[]> {
  const replies: Promise<string | null>[] = [];
  await new Promise<void>((resolve) => {
    let fired = 0;
    for (let i = 0; i < 5; i++) {
      setImmediate(() => {
        void redis.set(`${prefix}:k${i}`, `v${i}`);
        replies.push(redis.get(`${prefix}:k${i}`));
        if (++fired === 5) resolve();
      });
    }
  });
  return (await Promise.all(replies)) as string[];
}

describe("coalesceWrites", () => {
  it("writes the first command at once and the ones sent while it is answered in one write, replies in order", async () => {
    if (inject("redisClusterNodes") !== "") return; // a single connection's socket is what is counted here
    const prefix = testPrefix("coalesce");
    const plain = createWorkerConnection(testRedisTarget()) as Redis;
    const coalesced = createWorkerConnection(testRedisTarget()) as Redis;
    conn = coalesced;
    try {
      await Promise.all([plain.ping(), coalesced.ping()]);
      coalesceWrites(coalesced);
      const p = countSocketWrites(plain);
      const c = countSocketWrites(coalesced);
      expect(await fromFiveCallbacks(plain, `${prefix}:p`)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
      expect(await fromFiveCallbacks(coalesced, `${prefix}:c`)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
      // Without it, each callback's commands are a write of their own.
      expect(p.writes()).toBeGreaterThanOrEqual(5);
      // The first SET at once; the other nine commands together, once its reply came.
      expect(c.writes()).toBe(2);
      // At rest again: the next command is written at once, not held.
      const before = c.writes();
      const pending = coalesced.get(`${prefix}:c:k0`);
      expect(c.writes()).toBe(before + 1);
      expect(await pending).toBe("v0");
    } finally {
      await deletePrefix(coalesced, prefix);
      plain.disconnect();
    }
  });

  it("coalesces the new socket after a reconnect", async () => {
    if (inject("redisClusterNodes") !== "") return;
    const prefix = testPrefix("coalesce-re");
    const redis = createWorkerConnection(testRedisTarget()) as Redis;
    conn = redis;
    await redis.ping();
    coalesceWrites(redis);
    const reconnected = new Promise((resolve) => redis.once("ready", resolve));
    redis.disconnect(true);
    await reconnected;
    const c = countSocketWrites(redis);
    expect(await fromFiveCallbacks(redis, prefix)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    expect(c.writes()).toBe(2);
    await deletePrefix(redis, prefix);
  });

  it("works on every node of a cluster (replies right and in order)", async () => {
    const prefix = testPrefix("coalesce-any");
    conn = createWorkerConnection(testRedisTarget());
    coalesceWrites(conn);
    await conn.ping();
    for (let round = 0; round < 3; round++) expect(await fromFiveCallbacks(conn, `${prefix}:{r${round}}`)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    await deletePrefix(conn, prefix);
  });
});
