import { afterEach, describe, expect, it } from "vitest";
import type { BatchView } from "@llmq/shared";
import { unique } from "../helpers.js";
import { startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe("interactive requests go first", () => {
  it("a sync request sent while a batch drains on the same provider starts ahead of the batch items already waiting in the queue", async () => {
    h = await startBatchHarness("batch-priority", { sim: { latencyMs: 50 }, env: { WORKER_CONCURRENCY: "4" } });
    const sync = async (): Promise<{ ms: number; id: string }> => {
      const r = await h!.stack.request("/api/v1/unstructured", { body: { model: "gpt-4o-mini", prompt: unique("Say hello"), max_tokens: 20 } });
      expect(r.status).toBe(200);
      return { ms: r.ms, id: r.body.id as string };
    };
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) idle.push((await sync()).ms);

    const n = 600;
    const items = Array.from({ length: n }, (_, i) => ({ custom_id: `b${i}`, type: "unstructured", body: { model: "gpt-4o-mini", prompt: `Batch item ${i}`, max_tokens: 20 } }));
    const batchId = ((await h.submit(items)).body as BatchView).id;
    const queue = h.stack.queue("openai");
    const during: { ms: number; id: string; waitingAhead: number }[] = [];
    for (let i = 0; i < 5; i++) {
      let waitingAhead = 0;
      for (let tries = 0; tries < 200 && waitingAhead < 40; tries++) {
        // In items: a batch job holds BATCH_JOB_ITEMS of them (the 600 make whole jobs).
        waitingAhead = ((await queue.getJobCounts("prioritized")).prioritized ?? 0) * h.stack.config.batch.jobItems;
        if (waitingAhead < 40) await new Promise((r) => setTimeout(r, 10));
      }
      expect(waitingAhead).toBeGreaterThanOrEqual(40);
      during.push({ ...(await sync()), waitingAhead });
    }
    const { final } = await h.waitFinal(batchId, 60_000);
    expect(final.counts.completed).toBe(n);

    // When each batch item started, from its result: the batch's created_at + its queued_ms.
    const starts = (await h.results(batchId)).map((l) => final.created_at + (l.result?.timings.queued_ms ?? 0));
    for (const d of during) {
      const record = await h.stack.record(d.id);
      const startedAt = record?.started_at ?? 0;
      const overtaken = starts.filter((s) => s > startedAt + 1).length;
      // Every batch job waiting when the request arrived (bar those taken in the same instant) started after it.
      expect(overtaken).toBeGreaterThanOrEqual(d.waitingAhead / 2);
    }
    const batchMs = (final.finished_at ?? 0) - final.created_at;
    console.log(
      `sync latency, gpt-4o-mini, simulator latency 50 ms, 4 slots: idle median ${median(idle).toFixed(0)} ms; ` +
        `while a ${n}-item batch drains (${during.map((d) => d.waitingAhead).join("/")} batch items waiting ahead) median ${median(during.map((d) => d.ms)).toFixed(0)} ms, ` +
        `max ${Math.max(...during.map((d) => d.ms)).toFixed(0)} ms; FIFO would wait ~${Math.round((median(during.map((d) => d.waitingAhead)) * 50) / 4)} ms; batch drained in ${batchMs} ms`,
    );
  });
});
