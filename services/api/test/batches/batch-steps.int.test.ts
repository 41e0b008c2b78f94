import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import {
  BATCH_SCRIPTS,
  activeBatchesKey,
  batchItemJobId,
  batchKeySet,
  batchResultLine,
  runningBatchesKey,
  type BatchView,
  type JobPayload,
  type RedisConnection,
} from "@llmq/shared";
import { BatchItemStarts, storeFinish } from "../../../worker/src/batches/batch-item.js";
import { GROUP_MAX } from "../../../worker/src/batches/step-groups.js";
import { mixedItem, startBatchHarness, type BatchHarness } from "./harness.js";

/**
 * Batch items that start (or finish) in the same turn of a worker's event loop share one start (or finish)
 * script (step-groups.ts): each still gets the step a script of its own would give it. No worker runs here (workers: 0): the test plays
 * the worker's part, starting items by their job ids, on the harness's real Redis.
 */
let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function itemPayload(batchId: string, i: number): JobPayload {
  return { type: "unstructured", model: "gpt-4o-mini", provider: "openai", owner: "alice", request_id: "r", created_at: Date.now(), messages: [{ role: "user", content: `item ${i}` }], batch_id: batchId, custom_id: `item-${i}` };
}

/** Counts the calls of a script a connection sends: each run tries EVALSHA first (then EVAL on a node without it). */
function countScripts(redis: RedisConnection, script: { sha: string }): { readonly count: number } {
  const counter = { count: 0 };
  const evalsha = redis.evalsha.bind(redis) as (...args: unknown[]) => Promise<unknown>;
  (redis as unknown as { evalsha: (...a: unknown[]) => Promise<unknown> }).evalsha = (...args: unknown[]) => {
    if (args[0] === script.sha) counter.count++;
    return evalsha(...args);
  };
  return counter;
}

async function submit(n: number): Promise<string> {
  const res = await h!.submit(Array.from({ length: n }, (_, i) => mixedItem(0, `-${i}`)).map((it, i) => ({ ...it, custom_id: `item-${i}` })));
  expect(res.status).toBe(202);
  return (res.body as BatchView).id;
}

describe("batch item steps, grouped", () => {
  it("items of one batch started in one turn share one script, and each gets its own gate", async () => {
    h = await startBatchHarness("batch-starts-group", { workers: 0 });
    const { redis, keys, config } = h.stack;
    const ttl = config.jobs.resultTtlS;
    const id = await submit(6);
    const set = batchKeySet(keys, id);
    // Item 2 finished earlier (a re-fed or stalled job run again): its gate says so, and it is not counted again.
    const line = batchResultLine({ status: "completed", custom_id: "item-2", job_id: batchItemJobId(id, 2) });
    expect(await BATCH_SCRIPTS.finishItems.run(redis, set.scriptKeys, [Date.now(), ttl, id, 2, "c", line, ""])).toEqual([1]);
    // Item 4 was started by a run that crashed: a re-run of a started item runs.
    expect(await BATCH_SCRIPTS.startItems.run(redis, set.scriptKeys, [Date.now(), ttl, id, 4, "x"])).toEqual(["run"]);

    const scripts = countScripts(redis, BATCH_SCRIPTS.startItems);
    const starts = new BatchItemStarts(redis, keys, ttl);
    const gates = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => starts.start(batchItemJobId(id, i), itemPayload(id, i))));
    expect(gates).toEqual(["run", "run", "completed", "run", "run", "run"]);
    expect(scripts.count).toBe(1);
    const view = await h.view(id);
    expect(view.status).toBe("in_progress");
    expect(view.counts).toEqual({ total: 6, queued: 0, active: 5, completed: 1, failed: 0, cancelled: 0 });

    // A later turn is a script of its own; the items are started already and run again (re-runs).
    expect(await Promise.all([0, 1].map((i) => starts.start(batchItemJobId(id, i), itemPayload(id, i))))).toEqual(["run", "run"]);
    expect(scripts.count).toBe(2);
    expect((await h.view(id)).counts).toEqual({ total: 6, queued: 0, active: 5, completed: 1, failed: 0, cancelled: 0 });
  });

  it("two batches in one turn get a script each; more than GROUP_MAX items of one batch get several", async () => {
    h = await startBatchHarness("batch-starts-split", { workers: 0 });
    const { redis, keys, config } = h.stack;
    const n = GROUP_MAX + 3;
    const [a, b] = [await submit(n), await submit(2)];
    const scripts = countScripts(redis, BATCH_SCRIPTS.startItems);
    const starts = new BatchItemStarts(redis, keys, config.jobs.resultTtlS);
    const all = [
      ...Array.from({ length: n }, (_, i) => starts.start(batchItemJobId(a, i), itemPayload(a, i))),
      ...[0, 1].map((i) => starts.start(batchItemJobId(b, i), itemPayload(b, i))),
    ];
    expect(new Set(await Promise.all(all))).toEqual(new Set(["run"]));
    expect(scripts.count).toBe(3);
    expect((await h.view(a)).counts).toMatchObject({ queued: 0, active: n });
    expect((await h.view(b)).counts).toMatchObject({ queued: 0, active: 2 });
  });

  it("items of a cancelled batch started together are stored as cancelled, and the one that ends the batch retires it", async () => {
    h = await startBatchHarness("batch-starts-cancel", { workers: 0 });
    const { redis, keys, config } = h.stack;
    const id = await submit(4);
    const set = batchKeySet(keys, id);
    // As if a feeder had handed every item to BullMQ: none is left in a pending list for the cancel to take.
    await redis.del(...Object.values(set.pending));
    const cancel = await h.stack.request(`/api/v1/batches/${id}/cancel`, { as: "alice", method: "POST" });
    expect(cancel.status).toBeLessThan(300);
    expect((await h.view(id)).finished_at).toBeUndefined();

    const starts = new BatchItemStarts(redis, keys, config.jobs.resultTtlS);
    const gates = await Promise.all([0, 1, 2, 3].map((i) => starts.start(batchItemJobId(id, i), itemPayload(id, i))));
    expect(gates).toEqual(["cancelled", "cancelled", "cancelled", "cancelled"]);
    const view = await h.view(id);
    expect(view.status).toBe("cancelled");
    expect(view.counts).toEqual({ total: 4, queued: 0, active: 0, completed: 0, failed: 0, cancelled: 4 });
    expect(view.finished_at).toBeDefined();
    const lines = await h.results(id);
    expect(lines.map((l) => [l.custom_id, l.status, l.error?.code]).sort()).toEqual([0, 1, 2, 3].map((i) => [`item-${i}`, "cancelled", "JOB_CANCELLED"]));
    // Retired: in no feeder's set and not among the unfinished batches.
    expect(await redis.zscore(runningBatchesKey(keys), id)).toBeNull();
    expect(await redis.zscore(activeBatchesKey(keys, "openai"), id)).toBeNull();
  });

  it("an item whose job id is not its batch's is gone without a script; a failed script fails every start of its group", async () => {
    h = await startBatchHarness("batch-starts-errors", { workers: 0 });
    const { redis, keys, config } = h.stack;
    const id = await submit(2);
    const scripts = countScripts(redis, BATCH_SCRIPTS.startItems);
    const starts = new BatchItemStarts(redis, keys, config.jobs.resultTtlS);
    expect(await starts.start(`${id}-0`, { ...itemPayload(id, 0), batch_id: "batch_" + "0".repeat(32) })).toBe("gone");
    expect(await starts.start("not-a-batch-job", itemPayload(id, 0))).toBe("gone");
    expect(scripts.count).toBe(0);

    // A connection that cannot send anything (nothing listens on port 1): both starts of the group fail with its
    // error, and nothing moved.
    const broken = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    broken.on("error", () => undefined);
    const failing = new BatchItemStarts(broken, keys, config.jobs.resultTtlS);
    const results = await Promise.allSettled([0, 1].map((i) => failing.start(batchItemJobId(id, i), itemPayload(id, i))));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    broken.disconnect();
    expect((await h.view(id)).counts).toMatchObject({ queued: 2, active: 0 });
  });

  it("finishes of one batch's items in one turn share one script; the one that ends the batch retires it; a repeated finish stores nothing", async () => {
    h = await startBatchHarness("batch-steps-finish", { workers: 0 });
    const { redis, keys, config } = h.stack;
    const ttl = config.jobs.resultTtlS;
    const id = await submit(4);
    const starts = new BatchItemStarts(redis, keys, ttl);
    expect(await Promise.all([0, 1, 2, 3].map((i) => starts.start(batchItemJobId(id, i), itemPayload(id, i))))).toEqual(["run", "run", "run", "run"]);

    const scripts = countScripts(redis, BATCH_SCRIPTS.finishItems);
    const line = (i: number, status: "completed" | "failed"): string =>
      batchResultLine({ status, custom_id: `item-${i}`, job_id: batchItemJobId(id, i), ...(status === "failed" ? { error: { code: "PROVIDER_ERROR", message: "boom" } } : {}) });
    const stored = await Promise.all([
      ...[0, 1, 2].map((i) => storeFinish(redis, keys, id, { index: i, state: "c", line: line(i, "completed") }, ttl)),
      storeFinish(redis, keys, id, { index: 3, state: "f", line: line(3, "failed"), retryEntry: "openai\nentry-3" }, ttl),
    ]);
    expect(stored).toEqual([true, true, true, true]);
    expect(scripts.count).toBe(1);
    const view = await h.view(id);
    expect(view.status).toBe("completed_with_errors");
    expect(view.counts).toEqual({ total: 4, queued: 0, active: 0, completed: 3, failed: 1, cancelled: 0 });
    expect(view.finished_at).toBeDefined();
    const set = batchKeySet(keys, id);
    expect(await redis.hget(set.retry, "3")).toBe("openai\nentry-3");
    expect(await redis.zscore(runningBatchesKey(keys), id)).toBeNull();
    expect((await h.results(id)).map((l) => [l.custom_id, l.status])).toEqual([0, 1, 2, 3].map((i) => [`item-${i}`, i === 3 ? "failed" : "completed"]));

    // A stalled run of item 0 finishing again: nothing stored, nothing counted twice.
    expect(await storeFinish(redis, keys, id, { index: 0, state: "f", line: line(0, "failed") }, ttl)).toBe(false);
    expect((await h.view(id)).counts).toEqual(view.counts);
    expect(await redis.llen(set.results)).toBe(4);
  });
});
