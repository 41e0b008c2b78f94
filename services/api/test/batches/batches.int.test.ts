import { afterEach, describe, expect, it } from "vitest";
import { SchemaGuard, type BatchView, type StructuredResult } from "@llmq/shared";
import { KEYS } from "../helpers.js";
import { USER_SCHEMA, mixedItem, parseLines, startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const guard = new SchemaGuard();

describe("a batch from submit to results", () => {
  it("a mixed batch over three providers completes; each custom_id is in the results exactly once; structured outputs are valid", async () => {
    h = await startBatchHarness("batch-mixed");
    const n = 63;
    const res = await h.submit(Array.from({ length: n }, (_, i) => mixedItem(i)), { metadata: { run: "mixed" } });
    expect(res.status).toBe(202);
    const body = res.body as BatchView;
    expect(res.headers.get("location")).toBe(`/api/v1/batches/${body.id}`);
    expect(body.id).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(body).toMatchObject({ object: "batch", status: "queued", counts: { total: n, queued: n, active: 0, completed: 0, failed: 0, cancelled: 0 }, metadata: { run: "mixed" } });

    const { final, polls } = await h.waitFinal(body.id);
    expect(final).toMatchObject({ status: "completed", counts: { total: n, queued: 0, active: 0, completed: n, failed: 0, cancelled: 0 }, metadata: { run: "mixed" } });
    expect(final.started_at).toBeGreaterThanOrEqual(final.created_at);
    expect(final.finished_at).toBeGreaterThanOrEqual(final.started_at ?? 0);
    expect(polls.every((p) => p.counts.total === n)).toBe(true);

    const lines = await h.results(body.id);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(n);
    const types = new Map<string, number>();
    for (const line of lines) {
      expect(line.status).toBe("completed");
      expect(line.job_id).toBe(`${body.id}-${line.custom_id.slice(5)}`);
      expect(line.result?.id).toBe(line.job_id);
      types.set(`${line.result?.type}/${line.result?.provider}`, (types.get(`${line.result?.type}/${line.result?.provider}`) ?? 0) + 1);
      if (line.result?.type === "structured") expect(guard.validate(USER_SCHEMA, (line.result as StructuredResult).output).valid).toBe(true);
    }
    expect(types.size).toBe(9);
    const stats = await h.stack.simStats();
    expect(stats.by_provider).toMatchObject({ openai: n / 3, anthropic: n / 3, groq: n / 3 });
    // The finished batch's keys carry the result TTL; BullMQ keeps no finished batch jobs.
    const ttl = await h.stack.redis.ttl(h.stack.keys.batch(body.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(h.stack.config.jobs.resultTtlS);
    expect(await h.stack.redis.ttl(h.stack.keys.batchPart(body.id, "results"))).toBeGreaterThan(0);
    expect(await h.stack.queue("openai").getJobCounts("completed", "wait", "prioritized", "active")).toEqual({ completed: 0, wait: 0, prioritized: 0, active: 0 });
  });

  it("a 1,000-item batch over three providers with two workers: every item ends exactly once, one provider call each, and the counts add up at every poll", async () => {
    h = await startBatchHarness("batch-1000", { workers: 2 });
    const n = 1000;
    const res = await h.submit(Array.from({ length: n }, (_, i) => mixedItem(i)));
    expect(res.status, res.text).toBe(202);
    const id = (res.body as BatchView).id;
    const { final } = await h.waitFinal(id, 120_000);
    expect(final).toMatchObject({ status: "completed", counts: { total: n, queued: 0, active: 0, completed: n, failed: 0, cancelled: 0 } });
    const lines = await h.results(id);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(n);
    expect(await h.stack.providerCalls()).toBe(n);
  });

  it("an NDJSON batch is accepted like JSON, and ?status filters the NDJSON results", async () => {
    h = await startBatchHarness("batch-ndjson");
    const items = Array.from({ length: 9 }, (_, i) => mixedItem(i));
    // Items 2 and 5 fail at the provider (a 400 is not retried); the others complete.
    for (const i of [2, 5]) (items[i]?.body.messages as { content: string }[])[2]!.content += " [[sim:400xall]]";
    const ndjson = `${items.map((it) => JSON.stringify(it)).join("\n")}\n\n`;
    const res = await h.stack.request("/api/v1/batches", { rawBody: ndjson, headers: { "content-type": "application/x-ndjson" } });
    expect(res.status).toBe(202);
    const id = (res.body as BatchView).id;
    const { final } = await h.waitFinal(id);
    expect(final).toMatchObject({ status: "completed_with_errors", counts: { total: 9, completed: 7, failed: 2, cancelled: 0, queued: 0, active: 0 } });

    const raw = await fetch(`${h.stack.url}/api/v1/batches/${id}/results?status=failed`, { headers: { "x-api-key": KEYS.alice } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const failed = parseLines(await raw.text());
    expect(failed.map((l) => l.custom_id).sort()).toEqual(["item-2", "item-5"]);
    for (const line of failed) {
      expect(line).toMatchObject({ status: "failed", error: { code: "PROVIDER_ERROR" } });
      expect(line.result).toBeUndefined();
    }
    expect((await h.results(id, "completed")).map((l) => l.status)).toEqual(Array(7).fill("completed"));
    expect(await h.results(id, "cancelled")).toEqual([]);
    expect((await h.stack.request(`/api/v1/batches/${id}/results?status=bogus`)).status).toBe(400);
  });

  it("another key gets 404 on get, results and cancel, exactly like a missing batch", async () => {
    h = await startBatchHarness("batch-owner");
    const res = await h.submit([mixedItem(0)]);
    const { id } = res.body as BatchView;
    for (const [method, path] of [["GET", `/api/v1/batches/${id}`], ["GET", `/api/v1/batches/${id}/results`], ["POST", `/api/v1/batches/${id}/cancel`]] as const) {
      const other = await h.stack.request(path, { method, as: "bob" });
      const missing = await h.stack.request(path.replace(id, "batch_00000000000000000000000000000000"), { method, as: "bob" });
      const malformed = await h.stack.request(path.replace(id, "not-a-batch"), { method, as: "alice" });
      for (const r of [other, missing, malformed]) {
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe("NOT_FOUND");
      }
      expect(other.body.error.message.replace(id, "X")).toBe(missing.body.error.message.replace("batch_00000000000000000000000000000000", "X"));
    }
    expect((await h.stack.request(`/api/v1/batches/${id}`)).status).toBe(200);
    expect((await h.stack.request(`/api/v1/batches/${id}`, { as: { raw: "wrong" } })).status).toBe(401);
    expect((await h.stack.request(`/api/v1/batches/${id}`, { as: null })).status).toBe(401);
    await h.waitFinal(id);
    // Bob's cancel did nothing.
    expect((await h.view(id)).counts.completed).toBe(1);
  });

  it("the OpenAPI document lists every batch route with the shared batch request schema", async () => {
    h = await startBatchHarness("batch-openapi", { workers: 0 });
    const doc = (await h.stack.request("/api/v1/openapi.json")).body as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { title?: string } }> } }>>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.paths["/api/v1/batches"] ?? {})).toEqual(["post", "get"]);
    expect(doc.paths["/api/v1/batches"]?.post?.requestBody?.content["application/json"]?.schema.title).toBe("BatchRequest");
    expect(Object.keys(doc.paths["/api/v1/batches/{id}"] ?? {})).toEqual(["get"]);
    expect(Object.keys(doc.paths["/api/v1/batches/{id}/results"] ?? {})).toEqual(["get"]);
    expect(Object.keys(doc.paths["/api/v1/batches/{id}/cancel"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/v1/batches/{id}/retry"] ?? {})).toEqual(["post"]);
    expect(doc.components.schemas).toHaveProperty("BatchList");
    expect(doc.components.schemas).toHaveProperty("Batch");
    expect(doc.components.schemas).toHaveProperty("BatchResultLine");
  });
});
