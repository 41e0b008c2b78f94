import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectTestRedis } from "../../test/redis-target.js";
import { CAPACITY_SCRIPTS, viewCapacity } from "../src/capacity/index.js";
import type { RedisConnection } from "../src/redis/index.js";
import { deletePrefix, testPrefix } from "../src/testing/index.js";

/**
 * The capacity scripts against a real Redis, on a hash under this file's own prefix. The scripts read Redis's
 * clock, which keeps moving while a test runs: a bucket of 60 a minute refills 1 per second, so a few ms between
 * two calls change a wait by a few ms. Waits are checked as "close to", levels through floors that a few tens
 * of ms cannot move.
 */
const BURST_MS = 1000;
const TTL_S = 120;
/** A few tens of ms: the time two script calls may take on a busy machine. */
const SLACK_MS = 80;

type AcquireResult = [ok: number, waitMs: number, short: string, ...levels: (number | string)[]];
type Dim = [name: string, configured: number, cost: number];
type SettleDim = [name: string, configured: number, delta: number, learned: number, remaining: number];

let redis: RedisConnection;
let prefix: string;
let key: string;
let n = 0;

beforeAll(() => {
  redis = connectTestRedis();
  prefix = testPrefix("capacity-scripts");
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});
beforeEach(() => {
  key = `${prefix}:capacity:openai:model-${++n}`;
});

async function acquire(hold: number, ...dims: Dim[]): Promise<AcquireResult> {
  return (await CAPACITY_SCRIPTS.acquire.run(redis, [key], [BURST_MS, TTL_S, hold, ...dims.flat()])) as AcquireResult;
}

async function settle(opts: { block?: number; rateLimited?: boolean }, ...dims: SettleDim[]): Promise<(number | string)[]> {
  return (await CAPACITY_SCRIPTS.settle.run(redis, [key], [BURST_MS, TTL_S, opts.block ?? 0, opts.rateLimited ? 1 : 0, ...dims.flat()])) as (number | string)[];
}

function expectNear(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected - SLACK_MS);
  expect(actual).toBeLessThanOrEqual(expected);
}

async function redisNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe("ACQUIRE with headroom (\"burst:headroom\")", () => {
  async function acquireWith(burst: string, hold: number, ...dims: Dim[]): Promise<AcquireResult> {
    return (await CAPACITY_SCRIPTS.acquire.run(redis, [key], [burst, TTL_S, hold, ...dims.flat()])) as AcquireResult;
  }

  it("keeps the headroom empty: 6,000 a minute with a 1,000 ms burst and 100 ms of headroom holds 90, not 100", async () => {
    expect(await acquireWith("1000:100", 0, ["tk", 6000, 90])).toEqual([1, 0, "", 0]);
    const fresh = `${key}-b`;
    const [ok, wait, short] = (await CAPACITY_SCRIPTS.acquire.run(redis, [fresh], ["1000:100", TTL_S, 0, "tk", 6000, 95])) as AcquireResult;
    expect([ok, short]).toEqual([0, "tk"]);
    expectNear(wait, 50);
  });

  it("lets a call larger than the bucket go when the provider's full bucket would hold it: the headroom's refill later", async () => {
    // llmq's bucket is full at 90; the provider's (100) needs 100 ms more, and a call of 200 needs it full.
    const [ok, wait, short] = await acquireWith("1000:100", 0, ["tk", 6000, 200]);
    expect([ok, short]).toEqual([0, "tk"]);
    expectNear(wait, 100);
    const [ok2, wait2, , level] = await acquireWith("1000:100", 500, ["tk", 6000, 200]);
    expect(ok2).toBe(1);
    expectNear(wait2, 100);
    expect(level).toBe(-110);
  });
});

describe("ACQUIRE: admitting a call against the buckets", () => {
  it("admits a call while the bucket holds enough, then refuses the next with the exact wait for a refill", async () => {
    // 60 a minute with one second of burst: the bucket holds 1 request and refills 1 a second.
    expect(await acquire(0, ["rq", 60, 1])).toEqual([1, 0, "", 0]);
    const [ok, wait, short, level] = await acquire(0, ["rq", 60, 1]);
    expect([ok, short, level]).toEqual([0, "rq", 0]);
    expectNear(wait, 1000);
    const h = await redis.hgetall(key);
    expect([h.admitted, h.refused]).toEqual(["1", "1"]);
  });

  it("admits a call whose wait fits in the hold time with a reservation, and queues the next call behind it", async () => {
    await acquire(0, ["rq", 60, 1]);
    const [ok, wait, short, level] = await acquire(1000, ["rq", 60, 1]);
    expect([ok, short, level]).toEqual([1, "", -1]);
    expect(wait).toBeGreaterThan(0);
    expectNear(wait, 1000);
    const [ok3, wait3, short3] = await acquire(0, ["rq", 60, 1]);
    expect([ok3, short3]).toEqual([0, "rq"]);
    expectNear(wait3, 2000);
    // A hold shorter than the wait gives the turn back instead of reserving it.
    const [ok4, wait4] = await acquire(1500, ["rq", 60, 1]);
    expect(ok4).toBe(0);
    expectNear(wait4, 2000);
    expect((await redis.hgetall(key)).admitted).toBe("2");
  });

  it("charges every bucket of a call or none: a call short on one bucket leaves the others as they were", async () => {
    // requests: 600 a minute (10 in the bucket); tokens: 600 a minute (10 in the bucket).
    expect(await acquire(0, ["rq", 600, 1], ["tk", 600, 8])).toEqual([1, 0, "", 9, 2]);
    const before = await redis.hgetall(key);
    const [ok, wait, short, rq, tk] = await acquire(0, ["rq", 600, 1], ["tk", 600, 8]);
    expect([ok, short, rq, tk]).toEqual([0, "tk", 9, 2]);
    expectNear(wait, 600); // 6 tokens at 10 a second
    const after = await redis.hgetall(key);
    for (const field of ["rq:lvl", "rq:ts", "tk:lvl", "tk:ts"]) expect(after[field], field).toBe(before[field]);
    expect([after.admitted, after.refused]).toEqual(["1", "1"]);
  });

  it("names the bucket that needs the longest wait", async () => {
    await acquire(0, ["rq", 60, 1], ["tk", 600, 10]);
    // requests: 1 s for the next; tokens: 10 at 10 a second, also 1 s; ask for 3 tokens so requests wins.
    const [, waitRq, shortRq] = await acquire(0, ["rq", 60, 1], ["tk", 600, 3]);
    expect(shortRq).toBe("rq");
    expectNear(waitRq, 1000);
  });

  it("does not limit a dimension with no configured or learned limit, and stores nothing for it", async () => {
    const res = await acquire(0, ["rq", 60, 1], ["tk", 0, 1_000_000]);
    expect(res).toEqual([1, 0, "", 0, "-"]);
    const h = await redis.hgetall(key);
    expect(h["tk:lvl"]).toBeUndefined();
    expect(await acquire(0, ["tk", 0, 1_000_000])).toEqual([1, 0, "", "-"]);
  });

  it("lets a call larger than the bucket go when the bucket is full, leaving it negative", async () => {
    // 600 tokens a minute: a bucket of 10; a call of 25 goes at once and leaves -15.
    expect(await acquire(0, ["tk", 600, 25])).toEqual([1, 0, "", -15]);
    const [ok, wait] = await acquire(0, ["tk", 600, 1]);
    expect(ok).toBe(0);
    expectNear(wait, 1600); // 16 tokens at 10 a second
  });

  it("keeps the key alive for the TTL it is given", async () => {
    await acquire(0, ["rq", 60, 1]);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_S);
    await redis.persist(key);
    await acquire(0, ["rq", 60, 1]); // a refusal renews it too
    expect(await redis.ttl(key)).toBeGreaterThan(0);
  });
});

describe("limits learned from the provider", () => {
  it("uses a learned limit lower than the configured one", async () => {
    expect(await settle({}, ["rq", 6000, 0, 60, -1])).toEqual([1]);
    expect((await redis.hgetall(key))["rq:lim"]).toBe("60");
    // Configured 6000 a minute would hold 100; the learned 60 holds 1.
    expect((await acquire(0, ["rq", 6000, 1]))[0]).toBe(1);
    const [ok, wait, short] = await acquire(0, ["rq", 6000, 1]);
    expect([ok, short]).toEqual([0, "rq"]);
    expectNear(wait, 1000);
  });

  it("keeps the configured limit when the learned one is higher", async () => {
    await settle({}, ["rq", 60, 0, 60_000, -1]);
    expect((await acquire(0, ["rq", 60, 1]))[0]).toBe(1);
    const [ok, wait] = await acquire(0, ["rq", 60, 1]);
    expect(ok).toBe(0);
    expectNear(wait, 1000);
  });

  it("limits a dimension with only a learned limit", async () => {
    await settle({}, ["tk", 0, 0, 600, -1]);
    expect(await acquire(0, ["tk", 0, 10])).toEqual([1, 0, "", 0]);
    expect((await acquire(0, ["tk", 0, 10]))[0]).toBe(0);
  });
});

describe("SETTLE: correcting the buckets after a call", () => {
  it("refunds what was charged beyond the real usage, never above the bucket's capacity", async () => {
    await acquire(0, ["tk", 600, 8]); // 10 → 2
    const [refunded] = (await settle({}, ["tk", 600, -5, 0, -1])) as number[];
    expect(refunded).toBeGreaterThanOrEqual(7);
    expect(refunded).toBeLessThan(9);
    expect(await settle({}, ["tk", 600, -100, 0, -1])).toEqual([10]);
    expect(Number((await redis.hgetall(key))["tk:lvl"])).toBe(10);
  });

  it("charges what the provider counted beyond the estimate", async () => {
    await acquire(0, ["tk", 600, 2]); // 10 → 8
    const [level] = (await settle({}, ["tk", 600, 5, 0, -1])) as number[];
    expect(level).toBeGreaterThanOrEqual(3);
    expect(level).toBeLessThan(5);
  });

  it("lowers a bucket to what the provider says remains, and never raises it", async () => {
    await acquire(0, ["tk", 600, 2]); // 10 → 8
    expect(await settle({}, ["tk", 600, 0, 0, 3])).toEqual([3]);
    expect((await redis.hgetall(key))["tk:lvl"]).toBe("3");
    // A reservation takes the bucket below zero (3 - 25); a provider reporting 9 left does not undo it.
    expect((await acquire(1000, ["tk", 600, 25]))[0]).toBe(1);
    const [low] = (await settle({}, ["tk", 600, 0, 0, 9])) as number[];
    expect(low).toBeLessThanOrEqual(-20);
  });

  it("blocks the model until a 429's retry time: every call is refused as 'backoff', whatever the hold", async () => {
    const before = await redisNow();
    await settle({ block: 60_000, rateLimited: true }, ["rq", 60, 0, 0, -1]);
    const h = await redis.hgetall(key);
    expect(Number(h.blocked_until)).toBeGreaterThanOrEqual(before + 60_000);
    expect(Number(h.blocked_until)).toBeLessThanOrEqual((await redisNow()) + 60_000);
    expect(h.rate_limited).toBe("1");
    const [ok, wait, short, level] = await acquire(600_000, ["rq", 60, 1]);
    expect([ok, short, level]).toEqual([0, "backoff", 1]);
    expect(wait).toBeGreaterThan(60_000 - 1000);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect((await redis.hgetall(key))["rq:lvl"]).toBe("1");
    // A later, shorter block does not shorten the one in force.
    await settle({ block: 1000 }, ["rq", 60, 0, 0, -1]);
    expect((await redis.hgetall(key)).blocked_until).toBe(h.blocked_until);
    expect((await redis.hgetall(key)).rate_limited).toBe("1");
  });

  it("keeps a bucket's own longer wait over a shorter backoff", async () => {
    await acquire(0, ["tk", 600, 50]); // 10 → -40: 5 s to wait for 10 tokens
    await settle({ block: 1000 }, ["tk", 600, 0, 0, -1]);
    const [ok, wait, short] = await acquire(0, ["tk", 600, 10]);
    expect([ok, short]).toEqual([0, "tk"]);
    expectNear(wait, 5000);
  });

  it("returns '-' for a dimension with no limit and writes no bucket for it, only when the model answered", async () => {
    expect(await settle({}, ["rq", 0, 3, 0, 5])).toEqual(["-"]);
    const hash = await redis.hgetall(key);
    expect(Object.keys(hash)).toEqual(["answered_at"]);
    expect(Number(hash.answered_at)).toBeGreaterThan(0);
  });

  it("records when the model last answered, and not on a 429", async () => {
    await settle({ block: 1000, rateLimited: true }, ["rq", 0, 0, 0, -1]);
    expect(await redis.hget(key, "answered_at")).toBeNull();
    await settle({}, ["rq", 0, 0, 0, -1]);
    expect(Number(await redis.hget(key, "answered_at"))).toBeGreaterThan(0);
  });

  it("counts a 429 and keeps the key alive for the TTL it is given", async () => {
    await settle({ block: 1000, rateLimited: true }, ["rq", 0, 0, 0, -1]);
    await settle({ block: 1000, rateLimited: true }, ["rq", 0, 0, 0, -1]);
    expect((await redis.hgetall(key)).rate_limited).toBe("2");
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_S);
  });
});

describe("viewing a model's capacity", () => {
  const now = 1_000_000;

  it("refills each bucket to now and says where its limit comes from", () => {
    const hash = { "rq:lvl": "4", "rq:ts": String(now - 300), "tk:lim": "3000", "tk:lvl": "-50", "tk:ts": String(now - 300), admitted: "3", refused: "2", rate_limited: "1" };
    const view = viewCapacity("gpt-4", ["rq", "tk"], { rpm: 600, tpm: 6000 }, hash, now, 1000);
    expect(view).toEqual({
      model: "gpt-4",
      buckets: [
        // 600 a minute: 10 a second; 4 + 0.3 s × 10.
        { limit: "requests", per_minute: 600, source: "configured", remaining: 7, capacity: 10 },
        // learned 3000 < configured 6000: 50 a second; -50 + 0.3 s × 50.
        { limit: "tokens", per_minute: 3000, source: "learned", remaining: -35, capacity: 50 },
      ],
      admitted: 3,
      refused: 2,
      rate_limited: 1,
    });
  });

  it("never refills a bucket beyond its capacity, and shows a fresh bucket full", () => {
    const view = viewCapacity("m", ["rq", "in", "out"], { rpm: 60, itpm: 1200 }, { "rq:lvl": "0", "rq:ts": String(now - 3_600_000) }, now, 2000);
    expect(view?.buckets).toEqual([
      { limit: "requests", per_minute: 60, source: "configured", remaining: 2, capacity: 2 },
      { limit: "input_tokens", per_minute: 1200, source: "configured", remaining: 40, capacity: 40 },
    ]);
  });

  it("keeps the configured limit when the learned one is higher", () => {
    const view = viewCapacity("m", ["rq"], { rpm: 60 }, { "rq:lim": "6000" }, now, 1000);
    expect(view?.buckets[0]).toMatchObject({ per_minute: 60, source: "configured" });
  });

  it("shows a backoff only while it lasts", () => {
    expect(viewCapacity("m", ["rq"], {}, { blocked_until: String(now + 5000) }, now, 1000)).toEqual({ model: "m", buckets: [], blocked_until: now + 5000, admitted: 0, refused: 0, rate_limited: 0 });
    expect(viewCapacity("m", ["rq"], { rpm: 60 }, { blocked_until: String(now - 1) }, now, 1000)).not.toHaveProperty("blocked_until");
  });

  it("has nothing to show for a model with no limit and no history", () => {
    expect(viewCapacity("m", ["rq", "tk"], {}, {}, now, 1000)).toBeUndefined();
    expect(viewCapacity("m", ["rq", "tk"], {}, { blocked_until: String(now - 1) }, now, 1000)).toBeUndefined();
    expect(viewCapacity("m", ["rq", "tk"], {}, { admitted: "1" }, now, 1000)).toMatchObject({ buckets: [], admitted: 1 });
  });

  it("reads back what the scripts wrote", async () => {
    await acquire(0, ["rq", 60, 1], ["tk", 600, 4]);
    await settle({}, ["rq", 60, 0, 0, -1], ["tk", 600, 0, 300, -1]);
    const view = viewCapacity("m", ["rq", "tk"], { rpm: 60, tpm: 600 }, await redis.hgetall(key), await redisNow(), BURST_MS);
    expect(view?.buckets.map((b) => [b.limit, b.per_minute, b.source, b.capacity])).toEqual([
      ["requests", 60, "configured", 1],
      ["tokens", 300, "learned", 5],
    ]);
    expect(view?.admitted).toBe(1);
  });
});
