import { afterEach, describe, expect, it } from "vitest";
import { capacityKey, SchemaGuard, type StructuredResult } from "@llmq/shared";
import { chatCalls, SIMPLE_USER, startHarness, unique, USER_ARRAY, waitForState, type Harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("failure classification, proven by the simulator's counts", () => {
  it("when a provider returns 429, the job waits retry-after and then completes: exactly 2 calls", async () => {
    h = await startHarness("f429");
    const started = Date.now();
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("[[sim:429@300ms]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const stats = await h.stats();
    expect(chatCalls(stats)).toBe(2);
    expect(stats.markers["429"]).toBe(1);
    // A 429 is not a failed attempt; its bookkeeping goes with the final write.
    expect(record.attempts).toBe(1);
    expect(await h.redis.exists(h.keys.jobState(id))).toBe(0);
    expect(h.logs.some((l) => l.outcome === "rate_limited" && l.wait_ms === 300)).toBe(true);
  });

  it("a long 429 holds back its model in every worker, but not the provider's other models nor other providers", async () => {
    h = await startHarness("f429iso");
    const limited = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("[[sim:429@3s]] Say hello") });
    await expect.poll(async () => (await h!.stats()).markers["429"] ?? 0).toBe(1);
    const sameModel = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("Say hello") });
    const otherModel = await h.enqueue({ type: "unstructured", model: "gpt-4o-mini", prompt: unique("Say hello") });
    const otherProvider = await h.enqueue({ type: "unstructured", model: "claude-2", prompt: unique("Say hello") });
    expect((await h.waitForRecord(otherModel)).status).toBe("completed");
    expect((await h.waitForRecord(otherProvider)).status).toBe("completed");
    // gpt-4 is blocked for the 429's 3 s in the shared buckets: neither its job nor a new one has been sent.
    expect(await h.redis.get(h.keys.result(limited))).toBeNull();
    expect(await h.redis.get(h.keys.result(sameModel))).toBeNull();
    const blockedUntil = Number(await h.redis.hget(capacityKey(h.keys, "openai", "gpt-4"), "blocked_until"));
    expect(blockedUntil).toBeGreaterThan(Date.now());
    expect((await h.waitForRecord(limited)).status).toBe("completed");
    expect((await h.waitForRecord(sameModel)).status).toBe("completed");
    // 1 call that got the 429, then one each: the blocked gpt-4 job was never sent during the block.
    expect(chatCalls(await h.stats())).toBe(5);
  });

  it("when 429s never stop, the job keeps waiting (no attempt spent) and fails with PROVIDER_RATE_LIMITED only after RATE_LIMIT_MAX_WAIT_S", async () => {
    h = await startHarness("f429cap", { env: { JOB_ATTEMPTS: "2", RATE_LIMIT_MAX_WAIT_S: "1" } });
    const started = Date.now();
    const id = await h.enqueue({ type: "unstructured", model: "llama3-8b-8192", prompt: unique("[[sim:429@100msxall]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("failed");
    expect(record.error?.code).toBe("PROVIDER_RATE_LIMITED");
    expect(record.error?.message).toMatch(/answered llama3-8b-8192 nothing but 429 for \d+ s/);
    expect(Number(record.error?.details?.waited_s)).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // Far more 429s than JOB_ATTEMPTS: a rate limit is not a failed attempt.
    const calls = chatCalls(await h.stats());
    expect(calls).toBeGreaterThan(4);
    expect(record.attempts).toBe(1);
    expect(await waitForState(h.queue("groq"), id, "failed")).toBe("failed");
  });

  it("a job meeting 429s does not fail while its model still answers other calls", async () => {
    h = await startHarness("f429streak", { env: { RATE_LIMIT_MAX_WAIT_S: "1" } });
    // This prompt gets 429s for about 2 s (20 × 100 ms), twice RATE_LIMIT_MAX_WAIT_S; other calls to the same
    // model keep being answered meanwhile, so every 429 streak is cut short.
    const id = await h.enqueue({ type: "unstructured", model: "llama3-8b-8192", prompt: unique("[[sim:429@100msx20]] Say hello") });
    const others: string[] = [];
    for (let i = 0; i < 20 && (await h.redis.get(h.keys.result(id))) === null; i++) {
      others.push(await h.enqueue({ type: "unstructured", model: "llama3-8b-8192", prompt: unique("Say hello") }));
      await new Promise((r) => setTimeout(r, 150));
    }
    const record = await h.waitForRecord(id);
    expect(record.status, JSON.stringify(record.error)).toBe("completed");
    expect((await h.stats()).markers["429"]).toBe(20);
    for (const o of others) expect((await h.waitForRecord(o)).status).toBe("completed");
  });

  it("a 429 for the account's quota is not a rate limit: the job fails at once with PROVIDER_QUOTA_EXCEEDED", async () => {
    h = await startHarness("f429quota");
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("[[sim:quota]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("failed");
    expect(record.error?.code).toBe("PROVIDER_QUOTA_EXCEEDED");
    expect(chatCalls(await h.stats())).toBe(1);
  });

  it("a 500 is retried with backoff and the job completes on the 3rd call", async () => {
    h = await startHarness("f500");
    const id = await h.enqueue({ type: "unstructured", model: "claude-2", prompt: unique("[[sim:500x2]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    expect(record.attempts).toBe(3);
    expect(record.result?.attempts).toBe(3);
    expect(chatCalls(await h.stats())).toBe(3);
    // queued_ms counts from acceptance to the FIRST start, not the last retry's.
    expect(record.started_at).toBeLessThanOrEqual(record.finished_at);
    expect(await h.redis.exists(h.keys.jobState(id))).toBe(0);
    expect(h.logs.filter((l) => l.outcome === "retried")).toHaveLength(2);
  });

  it("a 5xx on the last attempt stores a PROVIDER_ERROR record", async () => {
    h = await startHarness("f500last", { env: { JOB_ATTEMPTS: "2" } });
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("[[sim:529xall]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ status: "failed", attempts: 2 });
    expect(record.error).toMatchObject({ code: "PROVIDER_ERROR", details: { provider: "openai", status: 503 } });
    expect(chatCalls(await h.stats())).toBe(2);
  });

  it("a 400 fails after exactly ONE call with PROVIDER_ERROR and no retry", async () => {
    h = await startHarness("f400");
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("[[sim:400xall]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ status: "failed", attempts: 1 });
    expect(record.error).toMatchObject({ code: "PROVIDER_ERROR", details: { provider: "openai", status: 400, type: "invalid_request_error" } });
    expect(await waitForState(h.queue("openai"), id, "failed")).toBe("failed");
    expect((await h.queue("openai").getJob(id))?.attemptsMade).toBe(1);
    expect(chatCalls(await h.stats())).toBe(1);
  });

  it("a 401 from the provider fails at once with a redacted message", async () => {
    h = await startHarness("f401");
    const id = await h.enqueue({ type: "unstructured", model: "claude-2", prompt: unique("[[sim:401]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.error).toMatchObject({ code: "PROVIDER_ERROR", details: { provider: "anthropic", status: 401, type: "authentication_error" } });
    expect(JSON.stringify(record)).not.toContain("sim-key");
    expect(chatCalls(await h.stats())).toBe(1);
  });

  it("a provider that hangs times out and is retried as PROVIDER_TIMEOUT", async () => {
    h = await startHarness("fhang", { env: { PROVIDER_TIMEOUT_MS: "300", JOB_ATTEMPTS: "2" } });
    const id = await h.enqueue({ type: "unstructured", model: "llama3-8b-8192", prompt: unique("[[sim:hang]] Say hello") });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    expect(record.attempts).toBe(2);
    expect(h.logs.some((l) => l.outcome === "retried" && l.code === "PROVIDER_TIMEOUT")).toBe(true);
  });
});

describe("the structured repair loop", () => {
  const guard = new SchemaGuard();

  it("an answer that breaks the schema is repaired once, then the job completes", async () => {
    h = await startHarness("repair1");
    const id = await h.enqueue({ type: "structured", model: "gpt-4", prompt: unique("[[sim:bad-schema]] Generate a list of 5 user objects"), schema: USER_ARRAY });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    const result = record.result as StructuredResult;
    expect(result.repairs).toBe(1);
    expect(guard.validate(USER_ARRAY, result.output).valid).toBe(true);
    const stats = await h.stats();
    expect(chatCalls(stats)).toBe(2);
    expect(stats.markers["bad-schema"]).toBe(1);
    // Both calls' tokens are counted.
    expect(result.usage.input_tokens).toBeGreaterThan(0);
  });

  it("invalid JSON is repaired too", async () => {
    h = await startHarness("repairjson");
    const id = await h.enqueue({ type: "structured", model: "gpt-4o", prompt: unique("[[sim:invalid-json]] Generate a simple user object with name, age, and email"), schema: SIMPLE_USER });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    expect((record.result as StructuredResult).repairs).toBe(1);
    expect(chatCalls(await h.stats())).toBe(2);
  });

  it("when repairs run out, the job fails with OUTPUT_SCHEMA_MISMATCH after exactly 1 + maxRepairs calls", async () => {
    h = await startHarness("repairall", { env: { STRUCTURED_MAX_REPAIRS: "2" } });
    const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };
    const id = await h.enqueue({ type: "structured", model: "claude-2", prompt: unique("[[sim:bad-schemaxall]] Generate a user with name and age"), schema });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ status: "failed", attempts: 1 });
    expect(record.error?.code).toBe("OUTPUT_SCHEMA_MISMATCH");
    const details = record.error?.details as { errors: unknown[]; raw_output: string; repairs: number };
    expect(details.errors.length).toBeGreaterThan(0);
    expect(typeof details.raw_output).toBe("string");
    expect(details.raw_output.length).toBeGreaterThan(0);
    expect(details.repairs).toBe(2);
    expect(await waitForState(h.queue("anthropic"), id, "failed")).toBe("failed");
    expect(chatCalls(await h.stats())).toBe(3);
  });

  it.each([
    ["deeply nested", nest(40)],
    ["remote $ref", { type: "object", properties: { a: { $ref: "https://example.com/evil.json" } } }],
    ["ReDoS pattern", { type: "object", properties: { a: { type: "string", pattern: "^(a+)+$" } } }],
    ["huge", { type: "object", properties: Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`p${i}`, { type: "string" }])) }],
  ])("a hostile schema (%s) fails fast with INVALID_SCHEMA and no provider call", async (_name, schema) => {
    h = await startHarness("hostile");
    const id = await h.enqueue({ type: "structured", model: "gpt-4o", prompt: "Generate anything", schema });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ status: "failed", attempts: 1, error: { code: "INVALID_SCHEMA" } });
    expect(chatCalls(await h.stats())).toBe(0);
  });
});

function nest(depth: number): Record<string, unknown> {
  let s: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < depth; i++) s = { type: "object", properties: { a: s } };
  return s;
}
