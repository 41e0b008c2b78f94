import { afterEach, describe, expect, it } from "vitest";
import { mixedItem, startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Nothing of a refused batch may be stored: no batch keys, no jobs. */
async function assertNothingStored(harness: BatchHarness): Promise<void> {
  const [, keys] = await harness.stack.redis.scan("0", "MATCH", `${harness.stack.config.redis.prefix}:batch*`, "COUNT", 10_000);
  expect(keys).toEqual([]);
  for (const p of ["openai", "anthropic", "groq"] as const) expect(await harness.stack.queue(p).count()).toBe(0);
}

describe("every item is checked before anything is stored", () => {
  it("an unknown model in item 57 refuses the batch, naming index 57 and its custom_id", async () => {
    h = await startBatchHarness("batch-limit-model", { workers: 0 });
    const items = Array.from({ length: 100 }, (_, i) => mixedItem(i));
    items[57]!.body.model = "gpt-nonexistent";
    items[80]!.body.model = "also-unknown";
    const res = await h.submit(items);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "INVALID_REQUEST", details: { index: 57, custom_id: "item-57", code: "UNKNOWN_MODEL" } });
    expect(res.body.error.message).toContain("item 57");
    expect(res.body.error.details.valid_models).toContain("gpt-4o-mini");
    await assertNothingStored(h);
  });

  it("a body that breaks its route's schema names the item and the absolute field path", async () => {
    h = await startBatchHarness("batch-limit-schema", { workers: 0 });
    const items = Array.from({ length: 10 }, (_, i) => mixedItem(i));
    delete (items[3]!.body as { prompt?: string }).prompt;
    (items[6]!.body as Record<string, unknown>).priority = 1;
    const res = await h.submit(items);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toMatchObject({ index: 3, custom_id: "item-3" });
    expect(res.body.error.details.errors).toContainEqual({ path: "/requests/3/body", message: "give exactly one of prompt or messages" });

    const unknownField = await h.submit([mixedItem(0), { ...mixedItem(1), priority: 1 }]);
    expect(unknownField.body.error.details).toMatchObject({ index: 1, errors: [{ path: "/requests/1/priority", message: "unknown field" }] });
    const badType = await h.submit([{ ...mixedItem(0), type: "embedding" }]);
    expect(badType.body.error.details).toMatchObject({ index: 0, errors: [{ path: "/requests/0/type" }] });
    const noCustomId = await h.submit([{ type: "unstructured", body: { model: "gpt-4o", prompt: "x" } }]);
    expect(noCustomId.body.error.details).toMatchObject({ index: 0, custom_id: null, errors: [{ path: "/requests/0/custom_id", message: "is required" }] });
    await assertNothingStored(h);
  });

  it("limits of single requests hold per item: max_tokens over the model's maximum, an invalid client schema, a prompt over the context window", async () => {
    h = await startBatchHarness("batch-limit-model-limits", { workers: 0 });
    const tooMany = [mixedItem(0), { ...mixedItem(3), body: { ...mixedItem(3).body, max_tokens: 10_000_000 } }];
    expect((await h.submit(tooMany)).body.error.details).toMatchObject({ index: 1, code: "INVALID_REQUEST", errors: [{ path: "/requests/1/body/max_tokens" }] });
    const badSchema = [{ custom_id: "s", type: "structured", body: { model: "gpt-4o", prompt: "x", schema: { type: "object", properties: { a: { $ref: "#/nowhere" } } } } }];
    const schemaRes = await h.submit(badSchema);
    expect(schemaRes.status).toBe(400);
    expect(schemaRes.body.error.details).toMatchObject({ index: 0, custom_id: "s", code: "INVALID_SCHEMA" });
    const long = [{ custom_id: "long", type: "unstructured", body: { model: "gpt-4", prompt: "word ".repeat(40_000) } }];
    expect((await h.submit(long)).body.error.details).toMatchObject({ index: 0, code: "CONTEXT_LENGTH_EXCEEDED" });
    await assertNothingStored(h);
  });

  it("a schema_id resolves for the batch's owner only", async () => {
    h = await startBatchHarness("batch-limit-schema-id", { workers: 0 });
    const reg = await h.stack.request("/api/v1/schemas", { as: "bob", body: { schema: { type: "object", properties: { a: { type: "string" } } } } });
    expect(reg.status).toBe(201);
    const item = { custom_id: "x", type: "structured", body: { model: "gpt-4o", prompt: "x", schema_id: reg.body.id } };
    const alice = await h.submit([item]);
    expect(alice.status).toBe(400);
    expect(alice.body.error.details).toMatchObject({ index: 0, errors: [{ path: "/requests/0/body/schema_id" }] });
    await assertNothingStored(h);
    expect((await h.submit([item], { as: "bob" })).status).toBe(202);
  });

  it("a repeated custom_id refuses the batch at its second use", async () => {
    h = await startBatchHarness("batch-limit-dup", { workers: 0 });
    const items = Array.from({ length: 6 }, (_, i) => mixedItem(i));
    items[4]!.custom_id = "item-1";
    const res = await h.submit(items);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "INVALID_REQUEST", details: { index: 4, custom_id: "item-1", duplicate_of: 1 } });
    await assertNothingStored(h);
  });

  it("more than BATCH_MAX_ITEMS is 413 BATCH_TOO_LARGE, as JSON and as NDJSON; a body over BATCH_BODY_LIMIT is 413 PAYLOAD_TOO_LARGE", async () => {
    h = await startBatchHarness("batch-limit-size", { workers: 0, env: { BATCH_MAX_ITEMS: "5", BATCH_BODY_LIMIT: "20kb" } });
    const six = Array.from({ length: 6 }, (_, i) => mixedItem(i));
    const json = await h.submit(six);
    expect(json.status).toBe(413);
    expect(json.body.error).toMatchObject({ code: "BATCH_TOO_LARGE", details: { max_items: 5, items: 6 } });
    const nd = await h.stack.request("/api/v1/batches", { rawBody: six.map((i) => JSON.stringify(i)).join("\n"), headers: { "content-type": "application/x-ndjson" } });
    expect(nd.status).toBe(413);
    expect(nd.body.error.code).toBe("BATCH_TOO_LARGE");
    expect((await h.submit(six.slice(0, 5))).status).toBe(202);

    const big = [{ custom_id: "big", type: "unstructured", body: { model: "gpt-4o", prompt: "x".repeat(30_000) } }];
    const tooBig = await h.submit(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit_bytes: 20 * 1024 } });
    // The single routes keep their own limit (BODY_LIMIT): the batch limit is the batch route's only.
    expect((await h.stack.request("/api/v1/unstructured?async=true", { body: big[0]!.body })).status).toBe(202);
  });

  it("malformed input: empty batch, bad JSON, a bad NDJSON line (named), bad metadata, wrong content type", async () => {
    h = await startBatchHarness("batch-limit-bad", { workers: 0 });
    expect((await h.stack.request("/api/v1/batches", { body: {} })).body.error).toMatchObject({ code: "INVALID_REQUEST", details: { errors: [{ path: "/requests" }] } });
    expect((await h.submit([])).body.error).toMatchObject({ code: "INVALID_REQUEST", details: { errors: [{ path: "/requests" }] } });
    expect((await h.stack.request("/api/v1/batches", { rawBody: "{nope", headers: { "content-type": "application/json" } })).body.error.code).toBe("INVALID_JSON");
    const ndjson = [JSON.stringify(mixedItem(0)), "{broken", JSON.stringify(mixedItem(1))].join("\n");
    const nd = await h.stack.request("/api/v1/batches", { rawBody: ndjson, headers: { "content-type": "application/x-ndjson" } });
    expect(nd.status).toBe(400);
    expect(nd.body.error).toMatchObject({ code: "INVALID_JSON", details: { line: 2, index: 1 } });
    expect((await h.stack.request("/api/v1/batches", { rawBody: "\n\n", headers: { "content-type": "application/x-ndjson" } })).status).toBe(400);
    const meta = await h.submit([mixedItem(0)], { metadata: { n: 1 } as unknown as Record<string, string> });
    expect(meta.body.error).toMatchObject({ code: "INVALID_REQUEST", details: { errors: [{ path: "/metadata/n" }] } });
    const extra = await h.stack.request("/api/v1/batches", { body: { requests: [mixedItem(0)], completion_window: "24h" } });
    expect(extra.body.error.details.errors).toEqual([{ path: "/completion_window", message: "unknown field" }]);
    expect((await h.stack.request("/api/v1/batches", { rawBody: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
    await assertNothingStored(h);
  });
});
