import { afterEach, describe, expect, it } from "vitest";
import { SchemaGuard, type StructuredResult, type UnstructuredResult } from "@llmq/shared";
import { chatCalls, NESTED_PROFILE, SIMPLE_USER, startHarness, USER_ARRAY, type Harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("jobs through BullMQ to a stored result", () => {
  it.each([
    ["gpt-4", "openai"],
    ["claude-2", "anthropic"],
    ["llama3-8b-8192", "groq"],
  ])("an unstructured job for %s completes with a stored FinalJobRecord", async (model, provider) => {
    h = await startHarness("unstructured");
    const id = await h.enqueue({ type: "unstructured", model, prompt: "Write a short paragraph about queues" });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ id, type: "unstructured", status: "completed", attempts: 1, owner: "test-owner" });
    const result = record.result as UnstructuredResult;
    expect(result).toMatchObject({ id, type: "unstructured", model, provider, simulated: true, attempts: 1, repairs: 0, cached: false });
    expect(typeof result.output).toBe("string");
    expect(result.output.length).toBeGreaterThan(0);
    expect(result.usage.total_tokens).toBe(result.usage.input_tokens + result.usage.output_tokens);
    expect(result.usage.output_tokens).toBeGreaterThan(0);
    expect(result.timings.total_ms).toBeGreaterThanOrEqual(result.timings.provider_ms);
    const stats = await h.stats();
    expect(stats.by_provider[provider as "openai"]).toBe(1);
  });
});

describe("structured jobs with the guide's schemas", () => {
  const guard = new SchemaGuard();
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    ["simple user", "gpt-3.5-turbo", SIMPLE_USER, "Generate a simple user object with name, age, and email"],
    ["nested user profile", "claude-2", NESTED_PROFILE, "Generate a complex user profile with nested objects"],
    ["array of 5 users", "gpt-4", USER_ARRAY, "Generate a list of 5 user objects"],
    ["array of 5 users (strict json_schema)", "gpt-4o", USER_ARRAY, "Generate a list of 5 user objects"],
    ["nested user profile (JSON mode)", "llama3-8b-8192", NESTED_PROFILE, "Generate a complex user profile with nested objects"],
    ["simple user (forced tool)", "claude-2", SIMPLE_USER, "Generate a simple user object with name, age, and email"],
  ];
  it.each(cases)("%s on %s gives valid, non-empty output", async (_name, model, schema, prompt) => {
    h = await startHarness("structured");
    const id = await h.enqueue({ type: "structured", model, prompt, schema });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    const result = record.result as StructuredResult;
    expect(result).toMatchObject({ type: "structured", model, repairs: 0, finish_reason: "stop" });
    expect(guard.validate(schema, result.output).valid).toBe(true);
    if (schema === USER_ARRAY) {
      expect(result.output).toHaveLength(5);
      for (const user of result.output as Array<Record<string, unknown>>) expect(Object.keys(user).length).toBeGreaterThan(0);
    } else {
      expect(Object.keys(result.output as object).length).toBeGreaterThan(0);
    }
    expect(chatCalls(await h.stats())).toBe(1);
  });
});

describe("the calls a worker holds", () => {
  it("are counted into the heap-growth policy from BullMQ handing a job out until it is moved on", async () => {
    let held = 0;
    let peak = 0;
    let entered = 0;
    const heapGrowth = {
      enter: () => {
        entered++;
        peak = Math.max(peak, ++held);
      },
      leave: () => void held--,
      mode: "relaxed" as const,
    };
    h = await startHarness("heap-growth", { heapGrowth, sim: { latencyMs: 150 } });
    const harness = h;
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => harness.enqueue({ type: "unstructured", model: "gpt-4", prompt: `held call ${i}` })));
    await Promise.all(ids.map((id) => harness.waitForRecord(id)));
    // The record is stored before BullMQ moves the job on: wait for the last leave.
    await expect.poll(() => held).toBe(0);
    expect(entered).toBe(6);
    // WORKER_CONCURRENCY is 4 in the harness: the 150 ms calls overlap.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
  });
});
