import { afterEach, describe, expect, it } from "vitest";
import { GUIDE, startStack, type Stack } from "./helpers.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Refused requests never reach a queue or a provider. */
async function nothingEnqueued(stack: Stack): Promise<void> {
  for (const p of ["openai", "anthropic", "groq"] as const) expect(await stack.queue(p).count()).toBe(0);
  expect(await stack.providerCalls()).toBe(0);
}

describe("bad input", () => {
  it("malformed JSON is 400 INVALID_JSON in the error shape", async () => {
    s = await startStack("badjson", { worker: false });
    const r = await s.request("/api/v1/unstructured", { rawBody: '{"model": "gpt-4", "prompt": ', headers: { "content-type": "application/json" } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "INVALID_JSON", request_id: r.headers.get("x-request-id") });
    await nothingEnqueued(s);
  });

  it("a body that is not JSON is 415; no body is 400", async () => {
    s = await startStack("mediatype", { worker: false });
    const form = await s.request("/api/v1/unstructured", { rawBody: "model=gpt-4", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const none = await s.request("/api/v1/unstructured", { method: "POST" });
    expect(none.status).toBe(400);
  });

  it("an unknown model is 400 UNKNOWN_MODEL listing the valid ids", async () => {
    s = await startStack("unknownmodel", { worker: false });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-7", prompt: "x" } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("UNKNOWN_MODEL");
    expect(r.body.error.details.valid_models).toEqual(expect.arrayContaining(["gpt-3.5-turbo", "gpt-4", "claude-2", "llama3-8b-8192"]));
    await nothingEnqueued(s);
  });

  it("unknown fields are refused with their paths: a client cannot set job options or provider settings", async () => {
    s = await startStack("unknownfield", { worker: false });
    const r = await s.request("/api/v1/unstructured", { body: { ...GUIDE.unstructured, priority: 1, base_url: "http://evil", attempts: 99 } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_REQUEST");
    expect(r.body.error.details.errors.map((e: { path: string }) => e.path).sort()).toEqual(["/attempts", "/base_url", "/priority"]);
    const both = await s.request("/api/v1/structured", { body: { ...GUIDE.simple, messages: [{ role: "user", content: "x" }] } });
    expect(both.status).toBe(400);
    expect(both.body.error.details.errors).toContainEqual({ path: "", message: "give exactly one of prompt or messages" });
    await nothingEnqueued(s);
  });
});

describe("limits", () => {
  it("a body over BODY_LIMIT is 413 PAYLOAD_TOO_LARGE", async () => {
    s = await startStack("toolarge", { worker: false, env: { BODY_LIMIT: "2kb" } });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: "x".repeat(4096) } });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit_bytes: 2048 } });
    await nothingEnqueued(s);
  });

  it("a prompt over the model's context window is 400 CONTEXT_LENGTH_EXCEEDED; the same prompt fits a larger model", async () => {
    s = await startStack("context", { worker: false });
    const prompt = "alpha beta gamma delta ".repeat(2500); // ~10,000 tokens: over gpt-4's 8,192
    const r = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "CONTEXT_LENGTH_EXCEEDED", details: { context_window: 8192, model: "gpt-4" } });
    expect(r.body.error.details.prompt_tokens).toBeGreaterThan(8192);
    await nothingEnqueued(s);
    // max_tokens counts against the window too.
    const roomy = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4o-mini", prompt } });
    expect(roomy.status).toBe(202);
  });

  it("max_tokens over the model's maximum output is 400 naming /max_tokens", async () => {
    s = await startStack("maxtokens", { worker: false });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-3.5-turbo", prompt: "x", max_tokens: 5000 } });
    expect(r.status).toBe(400);
    expect(r.body.error.details.errors).toEqual([{ path: "/max_tokens", message: "must be at most 4096 for gpt-3.5-turbo" }]);
    await nothingEnqueued(s);
  });

  it("more messages than MAX_MESSAGES is 400 naming /messages", async () => {
    s = await startStack("messages", { worker: false, env: { MAX_MESSAGES: "3" } });
    const r = await s.request("/api/v1/conversation", { body: GUIDE.conversation });
    expect(r.status).toBe(400);
    expect(r.body.error.details.errors[0].path).toBe("/messages");
    await nothingEnqueued(s);
  });

  it("schemas over the size or depth limits, or with remote refs, are 400 INVALID_SCHEMA", async () => {
    s = await startStack("schemalimits", { worker: false, env: { SCHEMA_MAX_DEPTH: "6", SCHEMA_MAX_BYTES: "1kb" } });
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 10; i++) deep = { type: "object", properties: { x: deep } };
    const big = { type: "object", properties: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`field_${i}`, { type: "string" }])) };
    for (const schema of [deep, big, { $ref: "http://example.com/schema.json" }]) {
      const r = await s.request("/api/v1/structured", { body: { model: "gpt-4", prompt: "x", schema } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("INVALID_SCHEMA");
      expect(r.body.error.details.errors.length).toBeGreaterThan(0);
    }
    await nothingEnqueued(s);
  });

  it("the per-key rate limit answers 429 RATE_LIMITED with Retry-After, per key, counted in Redis", async () => {
    s = await startStack("ratelimit", { worker: false, env: { RATE_LIMIT_PER_MIN: "3" } });
    const body = { model: "gpt-4", prompt: "x" };
    for (let i = 0; i < 3; i++) expect((await s.request("/api/v1/unstructured?async=true", { body })).status).toBe(202);
    const limited = await s.request("/api/v1/unstructured?async=true", { body });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another key has its own budget; the window's counter lives in Redis, shared by every replica.
    expect((await s.request("/api/v1/unstructured?async=true", { as: "bob", body })).status).toBe(202);
    const window = Math.floor(Date.now() / 60_000);
    const counted = Number(await s.redis.get(s.keys.rate("alice", window))) || Number(await s.redis.get(s.keys.rate("alice", window - 1)));
    expect(counted).toBe(4);
    expect(await s.queue("openai").count()).toBe(4);
  });
});
