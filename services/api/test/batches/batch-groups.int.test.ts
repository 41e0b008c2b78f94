import { afterEach, describe, expect, it } from "vitest";
import { BATCH_GROUP_JOB, batchGroupJobId, closeQuietly, createWorkerConnection, batchItemJobId, createLogger, parseBatchGroupJobId, type BatchGroupData, type BatchView, type JobPayload } from "@llmq/shared";
// Tests only: the API never imports the worker.
import { BatchFeeder } from "../../../worker/src/batches/feeder.js";
import { mixedItem, startBatchHarness, until, type BatchHarness } from "./harness.js";

/**
 * Batch jobs of several items (worker batches/batch-group.ts): the feeder groups consecutive items into one BullMQ
 * job each, and the worker runs a job's items one by one, each with the outcome it would have in a job of its own.
 */
let h: BatchHarness | undefined;
const extra: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const e of extra.splice(0)) await e.close();
  await h?.close();
  h = undefined;
});

const openaiItem = (i: number, extraText = ""): ReturnType<typeof mixedItem> => ({ ...mixedItem(i, extraText), body: { ...mixedItem(i, extraText).body, model: "gpt-4o-mini" } });

function feederFor(harness: BatchHarness): BatchFeeder {
  const feeder = new BatchFeeder({ config: harness.stack.config, keys: harness.stack.keys, redis: harness.stack.redis, logger: createLogger({ service: "worker", level: "silent" }), providers: ["openai"] });
  extra.push({ close: () => feeder.close() });
  return feeder;
}

describe("batch jobs of several items", () => {
  it("the feeder adds runs of BATCH_JOB_ITEMS consecutive items as one job each (ids from their first and last index), and a worker runs every item once", async () => {
    h = await startBatchHarness("batch-groups-feed", { workers: 0, env: { BATCH_JOB_ITEMS: "4" } });
    const n = 10;
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => openaiItem(i)))).body as BatchView).id;
    expect(await feederFor(h).feed("openai")).toBe(n);
    const jobs = await h.stack.queue("openai").getJobs(["prioritized"]);
    expect(jobs.map((j) => j.id).sort()).toEqual([batchGroupJobId(id, 0, 3), batchGroupJobId(id, 4, 7), batchGroupJobId(id, 8, 9)].sort());
    for (const job of jobs) {
      expect(job.name).toBe(BATCH_GROUP_JOB);
      const data = job.data as unknown as BatchGroupData;
      const ref = parseBatchGroupJobId(String(job.id));
      expect(data.batch_id).toBe(id);
      expect(data.items.map((it) => it.index)).toEqual(Array.from({ length: (ref?.last ?? 0) - (ref?.first ?? 0) + 1 }, (_, k) => (ref?.first ?? 0) + k));
      expect(data.items.every((it) => it.payload.batch_id === id && it.payload.custom_id === `item-${it.index}`)).toBe(true);
    }

    await h.addWorker({ BATCH_JOB_ITEMS: "4" });
    const { final } = await h.waitFinal(id);
    expect(final).toMatchObject({ status: "completed", counts: { total: n, completed: n } });
    const lines = await h.results(id);
    expect(lines.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `item-${i}`).sort());
    for (const line of lines) expect(line.job_id).toBe(batchItemJobId(id, Number(line.custom_id.slice(5))));
    expect(await h.stack.providerCalls()).toBe(n);
  });

  it("a run of one item is the item's own job, as with BATCH_JOB_ITEMS=1", async () => {
    h = await startBatchHarness("batch-groups-one", { workers: 0, env: { BATCH_JOB_ITEMS: "1" } });
    const id = ((await h.submit([0, 1, 2].map((i) => openaiItem(i)))).body as BatchView).id;
    expect(await feederFor(h).feed("openai")).toBe(3);
    const jobs = await h.stack.queue("openai").getJobs(["prioritized"]);
    expect(jobs.map((j) => j.id).sort()).toEqual([0, 1, 2].map((i) => batchItemJobId(id, i)).sort());
    expect(jobs.map((j) => j.name).sort()).toEqual(["conversation", "structured", "unstructured"]);
  });

  it("an item that fails retryably goes on in a job of its own and keeps counting attempts; the job's other items run in it", async () => {
    h = await startBatchHarness("batch-groups-retry", { env: { BATCH_JOB_ITEMS: "5", JOB_ATTEMPTS: "3" } });
    // Item 1 fails twice (attempts 1 and 2), then answers on its third and last attempt; item 2 fails all three;
    // item 3 fails once and answers on its second attempt, the first run of its job of its own.
    const items = [openaiItem(0), openaiItem(1, " [[sim:500x2]]"), openaiItem(2, " [[sim:500xall]]"), openaiItem(3, " [[sim:500x1]]"), openaiItem(4)];
    const id = ((await h.submit(items)).body as BatchView).id;
    const { final } = await h.waitFinal(id);
    expect(final.counts).toMatchObject({ total: 5, completed: 4, failed: 1 });
    const lines = await h.results(id);
    const byId = new Map(lines.map((l) => [l.custom_id, l]));
    expect(byId.get("item-1")).toMatchObject({ status: "completed", job_id: batchItemJobId(id, 1), result: { attempts: 3 } });
    expect(byId.get("item-2")).toMatchObject({ status: "failed", job_id: batchItemJobId(id, 2), error: { code: "PROVIDER_ERROR" } });
    expect(byId.get("item-0")).toMatchObject({ status: "completed", result: { attempts: 1 } });
    expect(byId.get("item-3")).toMatchObject({ status: "completed", job_id: batchItemJobId(id, 3), result: { attempts: 2 } });
    expect(byId.get("item-4")).toMatchObject({ status: "completed", result: { attempts: 1 } });
    // A call per attempt: 1 + 3 + 3 + 2 + 1.
    expect(await h.stack.providerCalls()).toBe(10);
    expect(lines).toHaveLength(5);
    // The setbacks the items recorded on the way (job-state.ts) went with their final write.
    // (one key at a time: each is in its job's own slot on a cluster)
    for (const i of [1, 2, 3]) expect(await h.stack.redis.exists(h.stack.keys.jobState(batchItemJobId(id, i)))).toBe(0);
  });

  it("between two items a job gives its slot to a waiting interactive job, and its remaining items run after it, once", async () => {
    h = await startBatchHarness("batch-groups-yield", { sim: { latencyMs: 150 }, env: { BATCH_JOB_ITEMS: "8", WORKER_CONCURRENCY: "1" } });
    const n = 8;
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => openaiItem(i)))).body as BatchView).id;
    await until("the batch job to start", async () => ((await h?.view(id))?.counts.active ?? 0) > 0 || undefined);
    const sent = Date.now();
    const res = await h.stack.request("/api/v1/unstructured?wait=20", { as: "alice", body: { model: "gpt-4o-mini", prompt: "interactive while a batch runs", max_tokens: 10 } });
    const took = Date.now() - sent;
    expect(res.status).toBe(200);
    const batchAt = await h.view(id);
    // Without giving the slot up it would wait for the job's eight 150 ms items; it waits for one (and its own call).
    expect(batchAt.counts.completed).toBeLessThan(n - 2);
    expect(took).toBeLessThan(150 * (n - 2));
    const { final } = await h.waitFinal(id);
    expect(final.counts).toMatchObject({ total: n, completed: n });
    expect(await h.results(id)).toHaveLength(n);
    expect(await h.stack.providerCalls()).toBe(n + 1);
  });

  it("between two items a job gives its slot to a job of a better priority: another key's batch, arrived later, runs ahead of the rest of it", async () => {
    h = await startBatchHarness("batch-groups-fresh", { sim: { latencyMs: 100 }, env: { BATCH_JOB_ITEMS: "8", WORKER_CONCURRENCY: "1" } });
    const n = 8;
    const big = ((await h.submit(Array.from({ length: n }, (_, i) => openaiItem(i)), { as: "alice" })).body as BatchView).id;
    await until("alice's job to start", async () => ((await h?.view(big, "alice"))?.counts.completed ?? 0) > 0 || undefined);
    // Bob's key is new to the feeder: its first share goes in at a better priority than alice's job.
    const small = ((await h.submit([openaiItem(100), openaiItem(101)], { as: "bob" })).body as BatchView).id;
    const smallDone = await until("bob's batch to finish", async () => {
      const v = (await h?.stack.request(`/api/v1/batches/${small}`, { as: "bob" }))?.body as BatchView | undefined;
      return v?.finished_at !== undefined ? v : undefined;
    });
    expect(smallDone.counts).toMatchObject({ total: 2, completed: 2 });
    expect((await h.view(big, "alice")).counts.completed).toBeLessThan(n - 2);
    const { final } = await h.waitFinal(big);
    expect(final.counts).toMatchObject({ total: n, completed: n });
    expect(await h.stack.providerCalls()).toBe(n + 2);
  });

  it("a cancel stops a running job's items after the one running: the rest are cancelled, none runs", async () => {
    h = await startBatchHarness("batch-groups-cancel", { sim: { latencyMs: 100 }, env: { BATCH_JOB_ITEMS: "8", WORKER_CONCURRENCY: "1" } });
    const n = 8;
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => openaiItem(i)))).body as BatchView).id;
    await until("the batch job to start", async () => ((await h?.view(id))?.counts.active ?? 0) > 0 || undefined);
    expect((await h.stack.request(`/api/v1/batches/${id}/cancel`, { as: "alice", method: "POST" })).status).toBe(200);
    const { final } = await h.waitFinal(id);
    expect(final.status).toBe("cancelled");
    expect(final.counts.completed).toBeLessThanOrEqual(2);
    expect(final.counts.completed + final.counts.cancelled).toBe(n);
    expect(await h.stack.providerCalls()).toBe(final.counts.completed);
  });

  it("a job BullMQ failed without the runner (one that stalled too often) has each of its items stored as failed by the reconciliation pass", async () => {
    h = await startBatchHarness("batch-groups-lost", { workers: 0, env: { BATCH_JOB_ITEMS: "4", BATCH_RECONCILE_INTERVAL_MS: "200" } });
    const n = 4;
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => openaiItem(i)))).body as BatchView).id;
    expect(await feederFor(h).feed("openai")).toBe(n);
    const queue = h.stack.queue("openai");
    const job = await queue.getJob(batchGroupJobId(id, 0, 3));
    expect(job).toBeDefined();
    // As BullMQ fails a job that stalled too often: moved to failed, no processor code ran.
    const { Worker, UnrecoverableError } = await import("bullmq");
    const connection = createWorkerConnection(h.stack.config.redis);
    const rogue = new Worker("jobs-openai", async () => { throw new UnrecoverableError("job stalled more than allowable limit"); }, { connection, prefix: h.stack.keys.queuePrefix("openai"), autorun: false });
    rogue.on("error", () => undefined);
    void rogue.run();
    await until("the job to fail", async () => ((await queue.getJobCounts("failed")).failed ?? 0) >= 1 || undefined);
    await rogue.close();
    await closeQuietly(connection);

    await h.addWorker({ BATCH_RECONCILE_INTERVAL_MS: "200", BATCH_JOB_ITEMS: "4" });
    const { final } = await h.waitFinal(id, 10_000);
    expect(final).toMatchObject({ status: "completed_with_errors", counts: { total: n, failed: n } });
    for (const line of await h.results(id)) expect(line).toMatchObject({ status: "failed", error: { code: "INTERNAL", message: expect.stringContaining("stalled more than allowable limit") } });
    expect(await h.stack.providerCalls()).toBe(0);
    const payloads = (job?.data as unknown as BatchGroupData).items.map((it) => it.payload as JobPayload);
    expect(payloads.every((p) => p.batch_id === id)).toBe(true);
  });
});
