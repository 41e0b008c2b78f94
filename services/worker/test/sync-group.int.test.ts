import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  QUEUE_NAMES,
  SYNC_GROUP_ID_PREFIX,
  SYNC_GROUP_JOB,
  createLogger,
  defaultJobOptions,
  syncGroupRef,
  type FinalJobRecord,
  type JobPayload,
  type SyncGroupData,
} from "@llmq/shared";
import { createWorkerService, type WorkerService } from "../src/index.js";
import { failLostSyncGroup } from "../src/sync-group.js";
import { chatCalls, startHarness, unique, waitForState, type Harness } from "./helpers.js";

/** The worker's side of sync jobs of several requests (src/sync-group.ts); the API's is in services/api/test. */
let h: Harness | undefined;
let second: WorkerService | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
  await h?.close();
  h = undefined;
});

function payload(prompt: string): JobPayload {
  return { type: "unstructured", model: "gpt-4", provider: "openai", owner: "test-owner", request_id: randomUUID(), created_at: Date.now(), messages: [{ role: "user", content: prompt }], max_tokens: 20 };
}

/** A sync job of several requests, added as the API adds it: the index entries (all, or those named), then the job. */
async function addGroup(harness: Harness, prompts: string[], indexed?: number[]): Promise<{ groupId: string; ids: string[] }> {
  const groupId = `${SYNC_GROUP_ID_PREFIX}${randomUUID()}`;
  const members = prompts.map((p) => ({ id: randomUUID(), payload: payload(p) }));
  const fields = members.flatMap((m, i) => (indexed === undefined || indexed.includes(i) ? [m.id, syncGroupRef("openai", groupId)] : []));
  if (fields.length > 0) await harness.redis.hset(harness.keys.syncGrouped(), ...fields);
  const data: SyncGroupData = { members };
  await harness.queue("openai").add(SYNC_GROUP_JOB, data, { jobId: groupId, ...defaultJobOptions(harness.config) });
  return { groupId, ids: members.map((m) => m.id) };
}

/**
 * A group of three whose first request finished (its record stored) and whose second went on in a job of its own
 * (delayed well past the test), as an earlier run of the job would leave them; the third is left to run.
 */
async function addPartlyDoneGroup(harness: Harness): Promise<{ groupId: string; finished: string; moved: string; left: string }> {
  const { groupId, ids } = await addGroup(harness, [unique("finished"), unique("moved"), unique("left")]);
  const [finished, moved, left] = ids as [string, string, string];
  await harness.redis.set(harness.keys.result(finished), JSON.stringify(record(finished, "completed")), "EX", 60);
  await harness.queue("openai").add("unstructured", payload(unique("moved")), { jobId: moved, delay: 60_000 });
  return { groupId, finished, moved, left };
}

function record(id: string, status: FinalJobRecord["status"]): FinalJobRecord {
  return { id, type: "unstructured", owner: "test-owner", status, attempts: status === "cancelled" ? 0 : 1, created_at: Date.now(), finished_at: Date.now() };
}

describe("a sync job of several requests", () => {
  it("runs its requests side by side, each with its own record and log line, and empties their index entries", async () => {
    h = await startHarness("sync-group-run", { providers: ["openai"], sim: { latencyMs: 1_500 } });
    const { groupId, ids } = await addGroup(h, [0, 1, 2, 3].map((i) => unique(`side by side ${i}`)));
    // Side by side: all four calls reach the provider before any has answered (one after another, three would
    // have records by the time the fourth is sent).
    await expect.poll(async () => (await h!.stats()).total, { timeout: 5_000, interval: 10 }).toBe(4);
    expect((await Promise.all(ids.map((id) => h!.redis.exists(h!.keys.result(id))))).every((n) => n === 0)).toBe(true);
    for (const id of ids) expect(await h.waitForRecord(id)).toMatchObject({ id, status: "completed", attempts: 1 });
    expect(await waitForState(h.queue("openai"), groupId, "completed")).toBe("completed");
    expect(chatCalls(await h.stats())).toBe(4);
    expect(h.logs.filter((l) => l.outcome === "completed").map((l) => l.job_id).sort()).toEqual([...ids].sort());
    await expect.poll(async () => h!.redis.hlen(h!.keys.syncGrouped())).toBe(0);
  });

  it("on a first run, skips a request the API cancelled (no index entry, a record) and runs one whose entry is missing but has no record", async () => {
    h = await startHarness("sync-group-cancelled", { providers: ["openai"], start: false });
    const { groupId, ids } = await addGroup(h, [unique("cancelled"), unique("entry lost"), unique("plain")], [2]);
    const [cancelled, lost, plain] = ids as [string, string, string];
    await h.redis.set(h.keys.result(cancelled), JSON.stringify(record(cancelled, "cancelled")), "EX", 60);
    await h.service.start();
    expect((await h.waitForRecord(lost)).status).toBe("completed");
    expect((await h.waitForRecord(plain)).status).toBe("completed");
    expect(await waitForState(h.queue("openai"), groupId, "completed")).toBe("completed");
    expect(JSON.parse((await h.redis.get(h.keys.result(cancelled))) ?? "{}")).toMatchObject({ status: "cancelled" });
    expect(chatCalls(await h.stats())).toBe(2);
    expect(h.logs.some((l) => l.job_id === cancelled && l.skipped === true && l.outcome === "cancelled")).toBe(true);
  });

  it("run again, sends no request that has a record or went on in a job of its own", async () => {
    h = await startHarness("sync-group-rerun", { providers: ["openai"], start: false });
    const { groupId, moved, left } = await addPartlyDoneGroup(h);
    // One start already counted, as BullMQ counts it when a stalled job is taken again.
    await h.redis.hincrby(`${h.keys.queuePrefix("openai")}:${QUEUE_NAMES.openai}:${groupId}`, "ats", 1);
    await h.service.start();
    expect((await h.waitForRecord(left)).status).toBe("completed");
    expect(await waitForState(h.queue("openai"), groupId, "completed")).toBe("completed");
    expect(chatCalls(await h.stats())).toBe(1);
    expect(await h.redis.get(h.keys.result(moved))).toBeNull();
    expect(await (await h.queue("openai").getJob(moved))?.getState()).toBe("delayed");
  });

  it("a request that fails retryably goes on in a job of its own under its own id, its attempts counted on", async () => {
    h = await startHarness("sync-group-retry", { providers: ["openai"] });
    const { ids } = await addGroup(h, [unique("[[sim:500x1]] flaky"), unique("fine")]);
    const [flaky, fine] = ids as [string, string];
    expect(await h.waitForRecord(fine)).toMatchObject({ status: "completed", attempts: 1 });
    expect(await h.waitForRecord(flaky)).toMatchObject({ status: "completed", attempts: 2 });
    expect((await h.queue("openai").getJob(flaky))?.name).toBe("unstructured");
    expect(chatCalls(await h.stats())).toBe(3);
  });

  it("at shutdown past the grace period, is handed back whole without spending an attempt, and another worker runs it", async () => {
    h = await startHarness("sync-group-shutdown", { providers: ["openai"], sim: { latencyMs: 1_500 }, env: { WORKER_SHUTDOWN_GRACE_MS: "200" } });
    const { groupId, ids } = await addGroup(h, [unique("long a"), unique("long b"), unique("long c")]);
    await expect.poll(async () => (await h!.stats()).total, { timeout: 5_000 }).toBe(3);
    expect(await h.service.close()).toEqual({ clean: true, left: [] });
    for (const id of ids) expect(await h.redis.get(h.keys.result(id))).toBeNull();
    const job = await h.queue("openai").getJob(groupId);
    expect(["delayed", "waiting"]).toContain(await job?.getState());
    expect(job?.attemptsMade).toBe(0);

    second = createWorkerService({ config: h.config, logger: createLogger({ service: "worker", level: "silent" }), providers: ["openai"] });
    await second.start();
    for (const id of ids) expect(await h.waitForRecord(id)).toMatchObject({ status: "completed", attempts: 1 });
  });

  it("failed by BullMQ outside the runner, gives each request without a record or a job of its own a failed record", async () => {
    h = await startHarness("sync-group-lost", { providers: ["openai"], start: false });
    const { groupId, finished: done, moved, left: lost } = await addPartlyDoneGroup(h);
    const job = await h.queue("openai").getJob(groupId);
    expect(await failLostSyncGroup({ redis: h.redis, keys: h.keys, config: h.config }, job as never, "job stalled more than allowable limit")).toBe(1);
    expect(JSON.parse((await h.redis.get(h.keys.result(lost))) ?? "{}")).toMatchObject({ id: lost, status: "failed", error: { code: "INTERNAL", message: "job stalled more than allowable limit" } });
    expect(JSON.parse((await h.redis.get(h.keys.result(done))) ?? "{}")).toMatchObject({ status: "completed" });
    expect(await h.redis.get(h.keys.result(moved))).toBeNull();
    expect(await h.redis.hlen(h.keys.syncGrouped())).toBe(0);
  });
});
