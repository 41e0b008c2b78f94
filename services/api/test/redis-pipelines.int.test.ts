import { afterEach, describe, expect, it } from "vitest";
import { eventually, startStack, type Stack } from "./helpers.js";

/**
 * The API's Redis connection carries BullMQ's scripts (its queues are on it), and ioredis copies every script
 * defined on a connection into each pipeline or MULTI it builds: about 55 µs for BullMQ's 64, against 2 µs on a
 * bare connection. So the job routes build none (runtime.ts: no auto-pipelining, whose pipeline per event-loop
 * turn paid it on every turn; job-store.ts: scripts where a MULTI was).
 */
let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Every pipeline and MULTI built on the API's connection from now on. */
function countBuilds(stack: Stack): string[] {
  const redis = stack.runtime.deps.redis as unknown as { pipeline: (...a: unknown[]) => unknown; multi: (...a: unknown[]) => unknown; scriptsSet: object };
  // BullMQ's scripts are on the connection by now (the queues defined them at start): what makes a pipeline dear.
  expect(Object.keys(redis.scriptsSet).length).toBeGreaterThan(10);
  const built: string[] = [];
  for (const method of ["pipeline", "multi"] as const) {
    const original = redis[method].bind(redis);
    redis[method] = (...args: unknown[]) => {
      built.push(method);
      return original(...args);
    };
  }
  return built;
}

describe("the API's Redis connection", () => {
  it("builds no pipeline or MULTI for a job's requests: sync, structured, async with polling, idempotent, rate limited", async () => {
    s = await startStack("pipelines", { env: { RATE_LIMIT_PER_MIN: "1000" } });
    const built = countBuilds(s);

    const sync = await s.request("/api/v1/unstructured?wait=10", { body: { model: "gpt-4o-mini", prompt: "pipelines, sync", max_tokens: 10 } });
    expect(sync.status, sync.text).toBe(200);
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const structured = await s.request("/api/v1/structured?wait=10", { body: { model: "gpt-4o-mini", prompt: "pipelines, structured", schema } });
    expect(structured.status, structured.text).toBe(200);
    const idem = { "Idempotency-Key": `pipelines-${Date.now()}` };
    const first = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4o-mini", prompt: "pipelines, async" }, headers: idem });
    expect(first.status, first.text).toBe(202);
    const again = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4o-mini", prompt: "pipelines, async" }, headers: idem });
    expect(again.body.id).toBe(first.body.id);
    await eventually(async () => ((await s?.request(`/api/v1/jobs/${first.body.id}`))?.body.status === "completed" ? true : undefined));

    expect(built).toEqual([]);
  });

  it("builds none for GET /jobs/{id} of a batch's item, the call a batch submitter polls", async () => {
    s = await startStack("pipelines-batch");
    const requests = [0, 1].map((i) => ({ custom_id: `c${i}`, type: "unstructured", body: { model: "gpt-4o-mini", prompt: `pipelines, item ${i}`, max_tokens: 10 } }));
    const batch = await s.request("/api/v1/batches", { body: { requests } });
    expect(batch.status, batch.text).toBe(202);
    await eventually(async () => ((await s?.request(`/api/v1/batches/${batch.body.id}`))?.body.status === "completed" ? true : undefined));
    const lines = (await s.request(`/api/v1/batches/${batch.body.id}/results`)).text.trim().split("\n").map((l) => JSON.parse(l) as { job_id: string });
    expect(lines).toHaveLength(2);
    const built = countBuilds(s);
    for (const { job_id } of lines) {
      const item = await s.request(`/api/v1/jobs/${job_id}`);
      expect(item.status, item.text).toBe(200);
      expect(item.body.status).toBe("completed");
    }
    expect(built).toEqual([]);
  });
});
