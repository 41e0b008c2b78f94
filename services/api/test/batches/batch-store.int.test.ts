import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import {
  BATCH_SCRIPTS,
  activeBatchesKey,
  batchGroupJobId,
  batchKeySet,
  batchResultLine,
  createLogger,
  encodeBatchEntry,
  runningBatchesKey,
  type BatchView,
  type JobPayload,
} from "@llmq/shared";
import { UnrecoverableError, Worker } from "bullmq";
import { BatchFeeder } from "../../../worker/src/index.js";
import { BatchStore, STAGE_TTL_S } from "../../src/batches/index.js";
import { mixedItem, startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
const extra: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const x of extra.splice(0)) await x.close();
  await h?.close();
  h = undefined;
});

function payload(i: number): JobPayload {
  return { type: "unstructured", model: "gpt-4o-mini", provider: "openai", owner: "alice", request_id: "r", created_at: Date.now(), messages: [{ role: "user", content: `item ${i}` }] };
}

async function batchKeys(harness: BatchHarness): Promise<string[]> {
  const [, keys] = await harness.stack.redis.scan("0", "MATCH", `${harness.stack.config.redis.prefix}:batch*`, "COUNT", 100_000);
  return keys;
}

describe("storing a batch is all or nothing", () => {
  it("an API that dies after staging the items leaves no visible batch (and staged keys that expire); create stores all of it with exact counts", async () => {
    h = await startBatchHarness("batch-crash-submit", { workers: 0 });
    const id = `batch_${"ab".repeat(16)}`;
    const n = 2500;
    const batch = {
      id,
      owner: "alice",
      createdAt: Date.now(),
      total: n,
      metadata: { k: "v" },
      entries: { openai: Array.from({ length: n }, (_, i) => encodeBatchEntry(i, `c${i}`, { ...payload(i), batch_id: id, custom_id: `c${i}` })) },
      types: "1".repeat(n),
    };
    const store = new BatchStore(h.stack.redis, h.stack.keys);
    // The API "crashes" between staging the items and the commit that makes the batch visible.
    await store.stage(batch);
    const set = batchKeySet(h.stack.keys, id);
    expect(await h.stack.redis.llen(set.pending.openai)).toBe(n);
    expect(await h.stack.redis.exists(set.meta)).toBe(0);
    const ttl = await h.stack.redis.ttl(set.pending.openai);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(STAGE_TTL_S);
    expect(await h.stack.redis.zcard(activeBatchesKey(h.stack.keys, "openai"))).toBe(0);
    expect(await h.stack.redis.zcard(runningBatchesKey(h.stack.keys))).toBe(0);
    expect((await h.stack.request(`/api/v1/batches/${id}`)).status).toBe(404);
    expect(((await h.stack.request("/api/v1/batches")).body as { data: unknown[] }).data).toEqual([]);
    await h.stack.redis.del(set.pending.openai, set.types);

    // The same batch through the real path: staged in chunks, then made visible whole.
    await store.create(batch);
    const view = (await h.stack.request(`/api/v1/batches/${id}`)).body as BatchView;
    expect(view.counts).toEqual({ total: n, queued: n, active: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(await h.stack.redis.llen(set.pending.openai)).toBe(n);
    expect(await h.stack.redis.ttl(set.pending.openai)).toBe(-1);
    expect(await h.stack.redis.strlen(set.types)).toBe(n);
    expect(await h.stack.redis.zscore(activeBatchesKey(h.stack.keys, "openai"), id)).not.toBeNull();
  });

  it("a create that fails while staging removes what it staged and shows no batch", async () => {
    h = await startBatchHarness("batch-stage-fail", { workers: 0 });
    const id = `batch_${"ef".repeat(16)}`;
    const set = batchKeySet(h.stack.keys, id);
    // The types key holds a hash, so the staging's APPEND fails after the entries were pushed.
    await h.stack.redis.hset(set.types, "x", "1");
    const entries = Array.from({ length: 1500 }, (_, i) => encodeBatchEntry(i, `c${i}`, { ...payload(i), batch_id: id, custom_id: `c${i}` }));
    const store = new BatchStore(h.stack.redis, h.stack.keys);
    await expect(store.create({ id, owner: "alice", createdAt: Date.now(), total: 1500, metadata: undefined, entries: { openai: entries }, types: "1".repeat(1500) })).rejects.toThrow(/WRONGTYPE/);
    expect(await h.stack.redis.exists(set.pending.openai, set.meta, set.types)).toBe(0);
    expect(await h.stack.redis.zcard(activeBatchesKey(h.stack.keys, "openai"))).toBe(0);
    expect((await h.stack.request(`/api/v1/batches/${id}`)).status).toBe(404);
  });
});

describe("feeding is idempotent and the item steps are exactly-once", () => {
  it("a chunk fed twice (a feeder that died between addBulk and its trim) runs each item once; re-fed after it finished, nothing runs again", async () => {
    h = await startBatchHarness("batch-refeed", { workers: 0 });
    const n = 50;
    const items = Array.from({ length: n }, (_, i) => ({ ...mixedItem(i), body: { ...mixedItem(i).body, model: "gpt-4o-mini" } }));
    const id = ((await h.submit(items)).body as BatchView).id;
    const set = batchKeySet(h.stack.keys, id);
    const entries = await h.stack.redis.lrange(set.pending.openai, 0, -1);
    expect(entries).toHaveLength(n);

    const feeder = new BatchFeeder({ config: h.stack.config, keys: h.stack.keys, redis: h.stack.redis, logger: createLogger({ service: "worker", level: "silent" }), providers: ["openai"] });
    extra.push({ close: () => feeder.close() });
    expect(await feeder.feed("openai")).toBe(n);
    // The crash: the items are in BullMQ but were never trimmed from the batch.
    await h.stack.redis.rpush(set.pending.openai, ...entries);
    await h.stack.redis.zadd(activeBatchesKey(h.stack.keys, "openai"), Date.now(), id);
    expect(await feeder.feed("openai")).toBe(n);
    // Both feeds built the same jobs (runs of BATCH_JOB_ITEMS items from the list's head, the same ids): BullMQ kept one of each.
    const k = h.stack.config.batch.jobItems;
    expect(await h.stack.queue("openai").getJobCounts("prioritized", "wait")).toEqual({ prioritized: Math.ceil(n / k), wait: 0 });
    expect((await h.stack.queue("openai").getJob(batchGroupJobId(id, k, 2 * k - 1)))?.opts.priority).toBe(10);

    await h.addWorker();
    const { final } = await h.waitFinal(id);
    expect(final.counts).toEqual({ total: n, queued: 0, active: 0, completed: n, failed: 0, cancelled: 0 });
    expect(await h.stack.providerCalls()).toBe(n);

    // Fed once more after everything finished (and BullMQ removed the finished jobs): re-added, skipped at start.
    await h.stack.redis.rpush(set.pending.openai, ...entries);
    await h.stack.redis.zadd(activeBatchesKey(h.stack.keys, "openai"), Date.now(), id);
    await h.workers[0]?.feeder?.feed("openai");
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stack.queue("openai").getJobCounts("prioritized", "wait", "active")).toEqual({ prioritized: 0, wait: 0, active: 0 });
    expect(await h.stack.providerCalls()).toBe(n);
    expect((await h.view(id)).counts).toEqual(final.counts);
    expect(await h.results(id)).toHaveLength(n);
  });

  it("the finish step stores an item once: a second finish (a stalled job finishing twice) changes nothing", async () => {
    h = await startBatchHarness("batch-finish-once", { workers: 0 });
    const id = ((await h.submit([mixedItem(0), mixedItem(3)])).body as BatchView).id;
    const set = batchKeySet(h.stack.keys, id);
    const ttl = h.stack.config.jobs.resultTtlS;
    const line = batchResultLine({ status: "completed", custom_id: "item-0", job_id: `${id}-0` });
    expect(await BATCH_SCRIPTS.startItems.run(h.stack.redis, set.scriptKeys, [Date.now(), ttl, id, 0, "x"])).toEqual(["run"]);
    expect((await h.view(id)).counts).toMatchObject({ queued: 1, active: 1 });
    expect((await h.view(id)).status).toBe("in_progress");
    expect(await BATCH_SCRIPTS.startItems.run(h.stack.redis, set.scriptKeys, [Date.now(), ttl, id, 0, "x"])).toEqual(["run"]);
    expect(await BATCH_SCRIPTS.finishItems.run(h.stack.redis, set.scriptKeys, [Date.now(), ttl, id, 0, "c", line, ""])).toEqual([1]);
    expect(await BATCH_SCRIPTS.finishItems.run(h.stack.redis, set.scriptKeys, [Date.now(), ttl, id, 0, "f", line, ""])).toEqual([0]);
    expect(await BATCH_SCRIPTS.startItems.run(h.stack.redis, set.scriptKeys, [Date.now(), ttl, id, 0, "x"])).toEqual(["final_c"]);
    expect((await h.view(id)).counts).toEqual({ total: 2, queued: 1, active: 0, completed: 1, failed: 0, cancelled: 0 });
    expect(await h.stack.redis.llen(set.results)).toBe(1);
    expect(await h.stack.redis.ttl(set.meta)).toBe(-1); // not finished: no TTL yet
  });

  it("a fed chunk is trimmed once even when two feeders fed it; a batch whose last writer died before retiring it leaves the feeders' and unfinished sets on the next look", async () => {
    h = await startBatchHarness("batch-trim-retire", { workers: 0 });
    const n = 10;
    const items = Array.from({ length: n }, (_, i) => ({ ...mixedItem(i), body: { ...mixedItem(i).body, model: "gpt-4o-mini" } }));
    const id = ((await h.submit(items)).body as BatchView).id;
    const set = batchKeySet(h.stack.keys, id);
    const chunk = await h.stack.redis.lrange(set.pending.openai, 0, 3);
    // Two feeders read the same four entries (one lost its lock meanwhile): the first trim drops them, the second nothing.
    const trim = (): Promise<unknown> => BATCH_SCRIPTS.trimFed.run(h!.stack.redis, [set.pending.openai], [chunk.length, chunk[0] as string, chunk.at(-1) as string]);
    expect(await trim()).toBe(1);
    expect(await trim()).toBe(0);
    expect(await h.stack.redis.llen(set.pending.openai)).toBe(n - 4);

    // The batch finished (its script ran) but the process died before retireBatch: its id is still in both sets.
    await h.stack.redis.del(set.pending.openai);
    await h.stack.redis.hset(set.meta, "finished_at", Date.now());
    const running = `${h.stack.config.redis.prefix}:batches:running`;
    expect(await h.stack.redis.zscore(running, id)).not.toBeNull();
    expect(await h.stack.redis.zscore(activeBatchesKey(h.stack.keys, "openai"), id)).not.toBeNull();
    const feeder = new BatchFeeder({ config: h.stack.config, keys: h.stack.keys, redis: h.stack.redis, logger: createLogger({ service: "worker", level: "silent" }), providers: ["openai"] });
    extra.push({ close: () => feeder.close() });
    expect(await feeder.feed("openai")).toBe(0);
    expect(await h.stack.redis.zscore(activeBatchesKey(h.stack.keys, "openai"), id)).toBeNull();
    await feeder.reconcile();
    expect(await h.stack.redis.zscore(running, id)).toBeNull();
  });

  it("items BullMQ failed without the runner (a job that stalled too often) are stored as failed by the reconciliation pass, and the batch finishes", async () => {
    h = await startBatchHarness("batch-reconcile", { workers: 0, env: { BATCH_RECONCILE_INTERVAL_MS: "200" } });
    const n = 6;
    const items = Array.from({ length: n }, (_, i) => ({ ...mixedItem(i), body: { ...mixedItem(i).body, model: "gpt-4o-mini" } }));
    const id = ((await h.submit(items)).body as BatchView).id;
    // Not llmq's runner: a bare BullMQ worker whose every job fails, as BullMQ fails a job that stalled too often.
    const connection = new Redis(h.stack.config.redis.url, { maxRetriesPerRequest: null });
    const rogue = new Worker("jobs-openai", async () => { throw new UnrecoverableError("job stalled more than allowable limit"); }, { connection, prefix: h.stack.keys.queuePrefix("openai"), autorun: false });
    rogue.on("error", () => undefined);
    const feeder = new BatchFeeder({ config: h.stack.config, keys: h.stack.keys, redis: h.stack.redis, logger: createLogger({ service: "worker", level: "silent" }), providers: ["openai"] });
    expect(await feeder.feed("openai")).toBe(n);
    await feeder.close();
    void rogue.run();
    // One job per BATCH_JOB_ITEMS items: the six items are one job.
    const jobs = Math.ceil(n / h.stack.config.batch.jobItems);
    for (let t = 0; t < 200 && ((await h.stack.queue("openai").getJobCounts("failed")).failed ?? 0) < jobs; t++) await new Promise((r) => setTimeout(r, 25));
    expect((await h.stack.queue("openai").getJobCounts("failed")).failed).toBe(jobs);
    await rogue.close();
    await connection.quit();
    expect((await h.view(id)).counts).toMatchObject({ queued: n, failed: 0 });

    await h.addWorker({ BATCH_RECONCILE_INTERVAL_MS: "200" });
    const { final } = await h.waitFinal(id, 10_000);
    expect(final).toMatchObject({ status: "completed_with_errors", counts: { total: n, failed: n, queued: 0, active: 0, completed: 0 } });
    const lines = await h.results(id);
    expect(lines).toHaveLength(n);
    for (const line of lines) expect(line).toMatchObject({ status: "failed", error: { code: "INTERNAL", message: expect.stringContaining("stalled more than allowable limit") } });
    expect(await h.stack.providerCalls()).toBe(0);
    expect(await h.stack.redis.zscore(`${h.stack.config.redis.prefix}:batches:running`, id)).toBeNull();
  });
});
