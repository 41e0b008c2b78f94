import { afterEach, describe, expect, it } from "vitest";
import { SchemaGuard, type BatchView, type StructuredResult } from "@llmq/shared";
import { KEYS, USER_SCHEMA, mixedItem, startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const guard = new SchemaGuard();

describe("a batch from submit to results", () => {
  it("a mixed batch over three providers completes; each custom_id is in the results exactly once", async () => {
    h = await startBatchHarness("batch-mixed");
    const n = 60;
    const res = await h.submit(Array.from({ length: n }, (_, i) => mixedItem(i)), { metadata: { run: "mixed" } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as BatchView;
    expect(res.headers.get("location")).toBe(`/api/v1/batches/${body.id}`);
    expect(body).toMatchObject({ object: "batch", status: "queued", counts: { total: n, queued: n, active: 0, completed: 0, failed: 0, cancelled: 0 }, metadata: { run: "mixed" } });

    const { final, polls } = await h.waitFinal(body.id);
    expect(final).toMatchObject({ status: "completed", counts: { total: n, queued: 0, active: 0, completed: n, failed: 0, cancelled: 0 }, metadata: { run: "mixed" } });
    expect(final.finished_at).toBeGreaterThanOrEqual(final.created_at);
    expect(polls.every((p) => p.counts.total === n)).toBe(true);

    const lines = await h.results(body.id);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(n);
    for (const line of lines) {
      expect(line.status).toBe("completed");
      expect(line.job_id).toBe(`${body.id}-${line.custom_id.slice(5)}`);
      if (line.result?.type === "structured") expect(guard.validate(USER_SCHEMA, (line.result as StructuredResult).output).valid).toBe(true);
    }
    const stats = h.sim.stats();
    expect(stats.by_provider).toMatchObject({ openai: n / 3, anthropic: n / 3, groq: n / 3 });
  });

  it("another key gets 404 on get, results and cancel, exactly like a missing batch", async () => {
    h = await startBatchHarness("batch-owner");
    const res = await h.submit([mixedItem(0)]);
    const { id } = (await res.json()) as BatchView;
    for (const [method, path] of [["GET", `/api/v1/batches/${id}`], ["GET", `/api/v1/batches/${id}/results`], ["POST", `/api/v1/batches/${id}/cancel`]] as const) {
      const other = await h.request(method, path, { key: KEYS.bob });
      expect(other.status).toBe(404);
      const missing = await h.request(method, path.replace(id, "batch_00000000000000000000000000000000"), { key: KEYS.bob });
      expect(missing.status).toBe(404);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    }
    expect((await h.request("GET", `/api/v1/batches/${id}`)).status).toBe(200);
    expect((await h.request("GET", `/api/v1/batches/${id}`, { key: "wrong" })).status).toBe(401);
  });
});
