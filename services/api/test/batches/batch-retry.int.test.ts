import { afterEach, describe, expect, it } from "vitest";
import { batchKeySet, ownerBatchesKey, type BatchList, type BatchView } from "@llmq/shared";
import { parseLines, startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function item(i: number, marker = ""): { custom_id: string; type: string; body: Record<string, unknown> } {
  return { custom_id: `c${i}`, type: "unstructured", body: { model: "gpt-4o-mini", prompt: `Say something about retry ${i}.${marker}`, max_tokens: 30 } };
}

describe("POST /api/v1/batches/{id}/retry", () => {
  it("re-runs only the failed items as new attempts: counts go back from failed to queued, the batch completes, and the results hold each custom_id once with its latest outcome", async () => {
    h = await startBatchHarness("batch-retry");
    const n = 12;
    // Items 1, 4, 7, 10 meet a provider 400 on their first call only (a 400 is not retried within a run).
    const failing = new Set([1, 4, 7, 10]);
    const id = ((await h.submit(Array.from({ length: n }, (_, i) => item(i, failing.has(i) ? " [[sim:400x1]]" : "")))).body as BatchView).id;
    const first = (await h.waitFinal(id)).final;
    expect(first).toMatchObject({ status: "completed_with_errors", counts: { total: n, completed: 8, failed: 4, queued: 0 } });
    expect(first.retries).toBeUndefined();
    const failedLine = (await h.results(id, "failed")).find((l) => l.custom_id === "c4");
    expect(failedLine).toMatchObject({ status: "failed", job_id: `${id}-4`, error: { code: "PROVIDER_ERROR" } });

    // The failed item reads like any job.
    const before = await h.stack.request(`/api/v1/jobs/${id}-4`);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ id: `${id}-4`, type: "unstructured", status: "failed", error: { code: "PROVIDER_ERROR" }, batch_id: id, custom_id: "c4" });

    const retried = await h.stack.request(`/api/v1/batches/${id}/retry`, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id, status: "in_progress", retries: 1, counts: { total: n, completed: 8, failed: 0, queued: 4, active: 0, cancelled: 0 } });
    expect((retried.body as BatchView).finished_at).toBeUndefined();
    // Until each item's new outcome lands, its last line stays the one shown: every custom_id is always there once.
    const during = parseLines((await h.stack.request(`/api/v1/batches/${id}/results`)).text);
    expect(new Set(during.map((l) => l.custom_id)).size).toBe(during.length);

    const { final } = await h.waitFinal(id);
    expect(final).toMatchObject({ status: "completed", retries: 1, counts: { total: n, completed: n, failed: 0, queued: 0, active: 0, cancelled: 0 } });
    const lines = await h.results(id);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(n);
    expect(lines.every((l) => l.status === "completed")).toBe(true);
    for (const i of failing) expect(lines.find((l) => l.custom_id === `c${i}`)?.job_id).toBe(`${id}-${i}-r1`);
    expect(lines.find((l) => l.custom_id === "c0")?.job_id).toBe(`${id}-0`);
    expect(await h.results(id, "failed")).toEqual([]);
    // The raw list still holds the superseded lines: the filter is what the client sees.
    expect(await h.stack.redis.llen(batchKeySet(h.stack.keys, id).results)).toBe(n + failing.size);
    // One provider call per item plus one per retried item.
    expect((await h.stack.simStats()).by_provider).toMatchObject({ openai: n + failing.size });

    // Either job id of a retried item reads its latest outcome; the finished batch has its TTL back.
    for (const jobId of [`${id}-4`, `${id}-4-r1`]) {
      const res = await h.stack.request(`/api/v1/jobs/${jobId}`);
      expect(res.body).toMatchObject({ id: `${id}-4-r1`, status: "completed", batch_id: id, custom_id: "c4", result: { type: "unstructured" } });
    }
    expect(await h.stack.redis.ttl(h.stack.keys.batch(id))).toBeGreaterThan(0);

    const again = await h.stack.request(`/api/v1/batches/${id}/retry`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("NOTHING_TO_RETRY");
  });

  it("a batch still running is refused with BATCH_NOT_FINISHED; another key's batch is 404; a cancelled one has nothing to retry", async () => {
    h = await startBatchHarness("batch-retry-refused", { workers: 0 });
    const id = ((await h.submit([item(0), item(1)])).body as BatchView).id;
    const metrics = (await h.stack.request("/metrics", { as: null })).text;
    expect(metrics).toMatch(/^llmq_batches_active 1$/m);
    expect(metrics).toMatch(/^llmq_api_batch_items_submitted_total 2$/m);
    const running = await h.stack.request(`/api/v1/batches/${id}/retry`, { method: "POST" });
    expect(running.status).toBe(409);
    expect(running.body.error.code).toBe("BATCH_NOT_FINISHED");
    expect((await h.stack.request(`/api/v1/batches/${id}/retry`, { method: "POST", as: "bob" })).status).toBe(404);
    expect((await h.stack.request(`/api/v1/batches/batch_${"0".repeat(32)}/retry`, { method: "POST" })).status).toBe(404);
    expect((await h.stack.request(`/api/v1/batches/${id}/cancel`, { method: "POST" })).body).toMatchObject({ status: "cancelled" });
    const cancelled = await h.stack.request(`/api/v1/batches/${id}/retry`, { method: "POST" });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.error.code).toBe("NOTHING_TO_RETRY");
    expect((await h.view(id)).counts).toMatchObject({ total: 2, cancelled: 2 });
  });
});

describe("GET /api/v1/batches", () => {
  it("lists the key's own batches newest first with a cursor; an expired batch drops out; bad parameters are 400", async () => {
    h = await startBatchHarness("batch-list", { workers: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(((await h.submit([item(i)], { metadata: { n: String(i) } })).body as BatchView).id);
      await new Promise((r) => setTimeout(r, 3));
    }
    const bobs = ((await h.submit([item(9)], { as: "bob" })).body as BatchView).id;
    const newest = [...ids].reverse();

    const page1 = (await h.stack.request("/api/v1/batches?limit=2")).body as BatchList;
    expect(page1.object).toBe("list");
    expect(page1.data.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(page1.data[0]).toMatchObject({ object: "batch", status: "queued", counts: { total: 1 }, metadata: { n: "4" } });
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = (await h.stack.request(`/api/v1/batches?limit=2&cursor=${page1.next_cursor}`)).body as BatchList;
    expect(page2.data.map((b) => b.id)).toEqual(newest.slice(2, 4));
    const page3 = (await h.stack.request(`/api/v1/batches?limit=2&cursor=${page2.next_cursor}`)).body as BatchList;
    expect(page3.data.map((b) => b.id)).toEqual(newest.slice(4));
    expect(page3.next_cursor).toBeUndefined();
    expect(((await h.stack.request("/api/v1/batches")).body as BatchList).data).toHaveLength(5);
    expect(((await h.stack.request("/api/v1/batches", { as: "bob" })).body as BatchList).data.map((b) => b.id)).toEqual([bobs]);

    // A batch whose keys expired (its meta hash is gone) is skipped and leaves the key's index.
    await h.stack.redis.del(h.stack.keys.batch(ids[3] as string));
    const after = (await h.stack.request("/api/v1/batches?limit=2")).body as BatchList;
    expect(after.data.map((b) => b.id)).toEqual([ids[4], ids[2]]);
    expect(await h.stack.redis.zscore(ownerBatchesKey(h.stack.keys, "alice"), ids[3] as string)).toBeNull();
    // Two more gone in one page: the page is filled from further down, skipping nothing.
    // One DEL each: on the cluster project the two batches are in different slots.
    await Promise.all([h.stack.redis.del(h.stack.keys.batch(ids[4] as string)), h.stack.redis.del(h.stack.keys.batch(ids[2] as string))]);
    const refilled = (await h.stack.request("/api/v1/batches?limit=1")).body as BatchList;
    expect(refilled.data.map((b) => b.id)).toEqual([ids[1]]);
    const last = (await h.stack.request(`/api/v1/batches?limit=1&cursor=${refilled.next_cursor}`)).body as BatchList;
    expect(last.data.map((b) => b.id)).toEqual([ids[0]]);
    expect(last.next_cursor).toBeUndefined();

    for (const q of ["limit=0", "limit=101", "limit=x", "cursor=nope"]) {
      const res = await h.stack.request(`/api/v1/batches?${q}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
    }
  });
});

describe("batch items at GET /api/v1/jobs/{id}", () => {
  it("an item not handed to a queue yet reads as queued with its type; another key's item, an index past the end and an unknown round are 404", async () => {
    h = await startBatchHarness("batch-item-view", { workers: 0 });
    const id = ((await h.submit([item(0), { custom_id: "s", type: "structured", body: { model: "gpt-4o-mini", prompt: "A user", schema: { type: "object" } } }])).body as BatchView).id;
    expect((await h.stack.request(`/api/v1/jobs/${id}-0`)).body).toMatchObject({ id: `${id}-0`, type: "unstructured", status: "queued", attempts: 0, batch_id: id });
    expect((await h.stack.request(`/api/v1/jobs/${id}-1`)).body).toMatchObject({ id: `${id}-1`, type: "structured", status: "queued" });
    for (const [path, as] of [[`${id}-0`, "bob"], [`${id}-2`, "alice"], [`${id}-0-r1`, "alice"], [`batch_${"1".repeat(32)}-0`, "alice"]] as const) {
      const res = await h.stack.request(`/api/v1/jobs/${path}`, { as });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    }
  });
});

describe("batch items count against the key's rate limit", () => {
  it("with RATE_LIMIT_PER_MIN=10 a batch of 11 is too large, 6 then 5 items is one too many, and a refused batch costs nothing", async () => {
    h = await startBatchHarness("batch-rate", { workers: 0, env: { RATE_LIMIT_PER_MIN: "10" } });
    const batch = (k: number, from = 0): unknown[] => Array.from({ length: k }, (_, i) => item(from + i));
    // The windows are fixed minutes: start well inside one, so the test never straddles two.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_100 - intoMinute));
    const big = await h.submit(batch(11));
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: "BATCH_TOO_LARGE", details: { max_items: 10, items: 11 } });
    expect((await h.submit(batch(6))).status).toBe(202);
    const over = await h.submit(batch(5));
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: "RATE_LIMITED", details: { limit_per_min: 10, items: 5 } });
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await h.submit(batch(4))).status).toBe(202);
    expect((await h.submit(batch(1))).status).toBe(429);
    expect(((await h.stack.request("/api/v1/batches")).body as BatchList).data.map((b) => b.counts.total)).toEqual([4, 6]);
  });
});
