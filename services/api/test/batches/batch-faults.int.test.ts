import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SchemaGuard, type BatchView, type StructuredResult } from "@llmq/shared";
import { USER_SCHEMA, assertCountsAddUp, mixedItem, startBatchHarness, until, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child?.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
  child = undefined;
  await h?.close();
  h = undefined;
});

const guard = new SchemaGuard();
const WORKER_MAIN = fileURLToPath(new URL("../../../worker/dist/main.js", import.meta.url));

function expectEachOnce(lines: { custom_id: string }[], n: number): void {
  expect(lines).toHaveLength(n);
  expect(new Set(lines.map((l) => l.custom_id)).size).toBe(n);
}

describe("batch counts under concurrency, faults, cancellation and a dead worker", () => {
  it("with two workers and simulator faults (5xx, 429, bad schemas, 400 markers) every item ends once and the counts always add up", async () => {
    h = await startBatchHarness("batch-faults", { workers: 2, sim: { faults: "500:0.1,bad-schema:0.1,429@20ms:0.05", retryAfterMs: 20 } });
    const n = 300;
    const items = Array.from({ length: n }, (_, i) => mixedItem(i, i % 10 === 0 ? " [[sim:400xall]]" : ""));
    const res = await h.submit(items);
    expect(res.status).toBe(202);
    const id = (res.body as BatchView).id;
    const { final, polls } = await h.waitFinal(id, 60_000);
    expect(polls.length).toBeGreaterThan(1);
    expect(final.counts).toMatchObject({ total: n, queued: 0, active: 0, cancelled: 0 });
    expect(final.counts.completed + final.counts.failed).toBe(n);
    expect(final.counts.failed).toBeGreaterThanOrEqual(n / 10);
    expect(final.status).toBe("completed_with_errors");

    const lines = await h.results(id);
    expectEachOnce(lines, n);
    const failed = lines.filter((l) => l.status === "failed");
    expect(failed).toHaveLength(final.counts.failed);
    for (const line of failed) expect(line.error?.code).toMatch(/^[A-Z_]+$/);
    for (let i = 0; i < n; i += 10) expect(lines.find((l) => l.custom_id === `item-${i}`)).toMatchObject({ status: "failed", error: { code: "PROVIDER_ERROR" } });
    for (const line of lines) {
      if (line.status === "completed" && line.result?.type === "structured") expect(guard.validate(USER_SCHEMA, (line.result as StructuredResult).output).valid).toBe(true);
    }
    const faulted = lines.filter((l) => (l.result?.attempts ?? 1) > 1 || (l.result?.repairs ?? 0) > 0);
    expect(faulted.length).toBeGreaterThan(0);
  });

  it("cancel part-way: items not started are cancelled without a provider call, running ones finish, the counts add up at every poll", async () => {
    // A low feed mark keeps most items pending in the batch (cancelled by the cancel itself); the few fed to
    // BullMQ are cancelled by the worker that takes them.
    h = await startBatchHarness("batch-cancel", { sim: { latencyMs: 20 }, env: { WORKER_CONCURRENCY: "4", BATCH_FEED_LOW_WATER: "20" } });
    const n = 600;
    const res = await h.submit(Array.from({ length: n }, (_, i) => mixedItem(i)));
    const id = (res.body as BatchView).id;
    await until("some items completed", async () => ((await h!.view(id)).counts.completed >= 20 ? true : undefined));

    const cancel = await h.stack.request(`/api/v1/batches/${id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    const after = cancel.body as BatchView;
    assertCountsAddUp(after);
    expect(after.cancel_requested_at).toBeGreaterThan(0);
    expect(after.counts.cancelled).toBeGreaterThan(0);

    const { final, polls } = await h.waitFinal(id);
    expect(final.status).toBe("cancelled");
    expect(final.counts.cancelled).toBeGreaterThan(0);
    expect(final.counts.queued + final.counts.active).toBe(0);
    expect(final.counts.completed + final.counts.failed + final.counts.cancelled).toBe(n);
    expect(polls.every((p) => p.counts.cancelled >= after.counts.cancelled)).toBe(true);

    const lines = await h.results(id);
    expectEachOnce(lines, n);
    const cancelled = lines.filter((l) => l.status === "cancelled");
    expect(cancelled).toHaveLength(final.counts.cancelled);
    for (const line of cancelled) expect(line).toMatchObject({ error: { code: "JOB_CANCELLED" } });
    expect((await h.results(id, "cancelled")).length).toBe(final.counts.cancelled);
    // No provider call for a cancelled item: calls = the items that ran.
    expect(await h.stack.providerCalls()).toBe(final.counts.completed + final.counts.failed);
    for (const p of ["openai", "anthropic", "groq"] as const) expect(await h.stack.queue(p).getJobCounts("wait", "prioritized", "active", "delayed")).toEqual({ wait: 0, prioritized: 0, active: 0, delayed: 0 });

    // Cancelling again, or a finished batch, changes nothing.
    const again = await h.stack.request(`/api/v1/batches/${id}/cancel`, { method: "POST" });
    expect(again.status).toBe(200);
    expect((again.body as BatchView).counts).toEqual(final.counts);
  });

  it.skipIf(!existsSync(WORKER_MAIN))("a worker killed mid-batch: its items come back through BullMQ's stalled check and another worker finishes them, counts exact", async () => {
    h = await startBatchHarness("batch-kill", { workers: 0, sim: { latencyMs: 400 } });
    // The doomed worker: a real process, SIGKILLed while it holds active items. Short locks and stalled checks on
    // both workers (BullMQ throttles the stalled check per queue by the interval of the worker that ran it last).
    const short = { WORKER_LOCK_DURATION_MS: "1500", WORKER_STALLED_INTERVAL_MS: "300" };
    child = spawn(process.execPath, [WORKER_MAIN], { env: { ...h.env, ...short, WORKER_CONCURRENCY: "6", LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "inherit"] });
    const n = 45;
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => mixedItem(i)))).body as BatchView).id;
    const before = await until("the child worker holds active items", async () => {
      const v = await h!.view(id);
      return v.counts.active >= 6 ? v : undefined;
    });
    const exited = new Promise((r) => child?.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const atKill = await h.view(id);
    expect(atKill.counts.active).toBeGreaterThan(0);
    assertCountsAddUp(atKill);

    await h.addWorker(short);
    const { final } = await h.waitFinal(id, 60_000);
    expect(final).toMatchObject({ status: "completed", counts: { total: n, completed: n, failed: 0, cancelled: 0, queued: 0, active: 0 } });
    expectEachOnce(await h.results(id), n);
    // Items the dead worker had sent to the provider ran again; they still count once.
    expect(await h.stack.providerCalls()).toBeGreaterThanOrEqual(n);
    expect(before.counts.active).toBeGreaterThan(0);
  });
});
