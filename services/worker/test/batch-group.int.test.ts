import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { BATCH_GROUP_JOB, batchGroupJobId, batchItemJobId, closeQuietly, parseBatchGroupJobId, parseBatchItemJobId, type BatchGroupData, type JobPayload } from "@llmq/shared";
import { QueueWatch, WATCH_MS } from "../src/batches/batch-group.js";
import { groupJobs } from "../src/batches/feeder.js";
import { keepPlaceScore } from "../src/job-runner.js";
import { connectTestRedis } from "../../../test/redis-target.js";

const BATCH = `batch_${"ab".repeat(16)}`;

function item(index: number, round = 0): { index: number; payload: JobPayload } {
  return {
    index,
    payload: { type: "unstructured", model: "gpt-4o-mini", provider: "openai", owner: "alice", request_id: `r${index}`, created_at: 0, messages: [{ role: "user", content: `item ${index}` }], batch_id: BATCH, custom_id: `item-${index}`, ...(round > 0 && { batch_round: round }) },
  };
}

describe("groupJobs: a chunk's items as batch jobs", () => {
  it("makes runs of up to `size` consecutive items, a run of one being the item's own job, ids deterministic and parseable", () => {
    const items = [0, 1, 2, 3, 4, 5, 6].map((i) => item(i));
    const jobs = groupJobs(BATCH, items, 3, { priority: 10 });
    expect(jobs.map((j) => j.opts.jobId)).toEqual([batchGroupJobId(BATCH, 0, 2), batchGroupJobId(BATCH, 3, 5), batchItemJobId(BATCH, 6)]);
    expect(jobs.map((j) => j.name)).toEqual([BATCH_GROUP_JOB, BATCH_GROUP_JOB, "unstructured"]);
    expect((jobs[1]?.data as BatchGroupData).items.map((it) => it.index)).toEqual([3, 4, 5]);
    expect(jobs.every((j) => j.opts.priority === 10)).toBe(true);
    // The same chunk grouped again gives the same jobs (a feeder re-reading it after a crash).
    expect(groupJobs(BATCH, items, 3, { priority: 10 }).map((j) => j.opts.jobId)).toEqual(jobs.map((j) => j.opts.jobId));
    expect(parseBatchGroupJobId(String(jobs[0]?.opts.jobId))).toEqual({ batchId: BATCH, first: 0, last: 2, round: 0 });
    // The two id shapes never parse as each other.
    expect(parseBatchItemJobId(String(jobs[0]?.opts.jobId))).toBeUndefined();
    expect(parseBatchGroupJobId(batchItemJobId(BATCH, 6))).toBeUndefined();
  });

  it("never mixes retry rounds in one job, and a round's ids carry it", () => {
    const jobs = groupJobs(BATCH, [item(0, 1), item(4, 1), item(7, 2), item(9, 2)], 8, {});
    expect(jobs.map((j) => j.opts.jobId)).toEqual([batchGroupJobId(BATCH, 0, 4, 1), batchGroupJobId(BATCH, 7, 9, 2)]);
    expect(parseBatchGroupJobId(batchGroupJobId(BATCH, 7, 9, 2))).toEqual({ batchId: BATCH, first: 7, last: 9, round: 2 });
  });

  it("with size 1 every item is its own job, as before batch jobs held several", () => {
    expect(groupJobs(BATCH, [item(0), item(1)], 1, {}).map((j) => [j.name, j.opts.jobId])).toEqual([
      ["unstructured", batchItemJobId(BATCH, 0)],
      ["unstructured", batchItemJobId(BATCH, 1)],
    ]);
  });
});

describe("QueueWatch: what waits ahead of a batch job", () => {
  const redis = connectTestRedis();
  const queue = `{llmqtest-watch-${randomUUID().slice(0, 8)}}:jobs-openai`;
  afterAll(async () => {
    await redis.del(`${queue}:wait`, `${queue}:prioritized`);
    await closeQuietly(redis);
  });

  /** ahead() answers what it saw last and looks again at most every WATCH_MS: ask, let it look, ask again. */
  async function settled(watch: QueueWatch, priority: number): Promise<boolean> {
    watch.ahead(priority);
    await new Promise((r) => setTimeout(r, WATCH_MS + 20));
    watch.ahead(priority);
    await new Promise((r) => setTimeout(r, 20));
    return watch.ahead(priority);
  }

  it("sees interactive jobs and better priorities, and not jobs of its own priority, moved back or not", async () => {
    const watch = new QueueWatch(redis, queue);
    expect(await settled(watch, 10)).toBe(false);
    // Priority-10 jobs as BullMQ scores them, and one moved back keeping its place.
    await redis.zadd(`${queue}:prioritized`, 10 * 2 ** 32 + 7, "a", keepPlaceScore(10, Date.now()), "b");
    expect(await settled(watch, 10)).toBe(false);
    // A newly arrived key's share (priority 9), even one moved back itself.
    await redis.zadd(`${queue}:prioritized`, keepPlaceScore(9, Date.now()), "c");
    expect(await settled(watch, 10)).toBe(true);
    expect(await settled(watch, 9)).toBe(false);
    await redis.zrem(`${queue}:prioritized`, "c");
    expect(await settled(watch, 10)).toBe(false);
    // An interactive job (BullMQ's plain wait list).
    await redis.lpush(`${queue}:wait`, "sync-job");
    expect(await settled(watch, 10)).toBe(true);
  });
});
