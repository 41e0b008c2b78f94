import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Anthropic from "@anthropic-ai/sdk";
import { KEYS, startStack, unique, type Stack } from "../helpers.js";

/** Anthropic's Message Batches with the official `@anthropic-ai/sdk` client, pointed at llmq by baseURL. */
let stack: Stack;
let idle: Stack;
let alice: Anthropic;
let bob: Anthropic;
let idleAlice: Anthropic;

beforeAll(async () => {
  [stack, idle] = await Promise.all([startStack("compat-anthropic-batches"), startStack("compat-anthropic-batches-idle", { worker: false })]);
  alice = new Anthropic({ baseURL: stack.url, apiKey: KEYS.alice, maxRetries: 0 });
  bob = new Anthropic({ baseURL: stack.url, apiKey: KEYS.bob, maxRetries: 0 });
  idleAlice = new Anthropic({ baseURL: idle.url, apiKey: KEYS.alice, maxRetries: 0 });
});
afterAll(async () => Promise.all([stack?.close(), idle?.close()]));

function request(customId: string, model: string, prompt: string): Anthropic.Messages.BatchCreateParams.Request {
  return { custom_id: customId, params: { model, max_tokens: 60, messages: [{ role: "user", content: prompt }] } };
}

async function ended(client: Anthropic, id: string, timeoutMs = 30_000): Promise<Anthropic.Messages.MessageBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === "ended") return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.processing_status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function failure(call: () => Promise<unknown>): Promise<{ status: number; type: string; code: string; message: string }> {
  try {
    await call();
  } catch (err) {
    if (err instanceof Anthropic.APIError) {
      const body = err.error as { type?: string; error?: { type?: string; code?: string; message?: string } };
      expect(body.type).toBe("error");
      return { status: err.status ?? 0, type: body.error?.type ?? "", code: body.error?.code ?? "", message: body.error?.message ?? "" };
    }
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("/v1/messages/batches with the @anthropic-ai/sdk client", () => {
  it("creates a batch, follows it to ended, and streams its results: each custom_id once", async () => {
    const prompt = unique("Say hello");
    const created = await alice.messages.batches.create({
      requests: [request("one", "claude-haiku-4-5", prompt), request("two", "gpt-4o-mini", prompt), request("bad", "claude-haiku-4-5", unique("[[sim:400xall]] fail"))],
    });
    expect(created.type).toBe("message_batch");
    expect(created.id).toMatch(/^msgbatch_[0-9a-f]{32}$/);
    expect(["in_progress", "ended"]).toContain(created.processing_status);
    expect(new Date(created.created_at).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const batch = await ended(alice, created.id);
    expect(batch.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 1, canceled: 0, expired: 0 });
    expect(batch.ended_at).not.toBeNull();
    expect(batch.results_url).toBe(`/v1/messages/batches/${batch.id}/results`);

    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const r of await alice.messages.batches.results(batch.id)) results.push(r);
    expect(results.map((r) => r.custom_id).sort()).toEqual(["bad", "one", "two"]);
    for (const r of results.filter((x) => x.custom_id !== "bad")) {
      expect(r.result.type).toBe("succeeded");
      if (r.result.type !== "succeeded") continue;
      expect(r.result.message.type).toBe("message");
      expect(r.result.message.content[0]?.type).toBe("text");
      expect(r.result.message.model).toBe(r.custom_id === "one" ? "claude-haiku-4-5" : "gpt-4o-mini");
    }
    const bad = results.find((r) => r.custom_id === "bad");
    expect(bad?.result.type).toBe("errored");
    expect(bad?.result.type === "errored" && bad.result.error).toMatchObject({ type: "error", error: { type: "api_error", code: "PROVIDER_ERROR" } });

    // Another key: 404 in Anthropic's shape, for retrieve, cancel and results alike.
    for (const call of [() => bob.messages.batches.retrieve(batch.id), () => bob.messages.batches.cancel(batch.id), () => bob.messages.batches.results(batch.id)]) {
      expect(await failure(call)).toMatchObject({ status: 404, type: "not_found_error", code: "NOT_FOUND" });
    }
    // Underneath, one llmq batch.
    expect((await stack.request(`/api/v1/batches/batch_${batch.id.slice(9)}`)).body.counts).toMatchObject({ total: 3, completed: 2, failed: 1 });
  });

  it("refuses a batch with a bad request, naming it, in Anthropic's error shape", async () => {
    const unknown = await failure(() => alice.messages.batches.create({ requests: [request("ok", "claude-haiku-4-5", "hi"), request("nope", "no-such-model", "hi")] }));
    expect(unknown).toMatchObject({ status: 400, type: "invalid_request_error", code: "INVALID_REQUEST" });
    expect(unknown.message).toMatch(/^requests\[1\]: unknown model/);
    const id = await failure(() => alice.messages.batches.create({ requests: [request("has space", "claude-haiku-4-5", "hi")] }));
    expect(id).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(id.message).toContain("requests[0].custom_id");
    const streamed = await failure(() => alice.messages.batches.create({ requests: [{ custom_id: "s", params: { ...request("s", "claude-haiku-4-5", "hi").params, stream: true as false } }] }));
    expect(streamed).toMatchObject({ status: 400, message: "requests[0].params.stream cannot be true in a batch" });
    const dup = await failure(() => alice.messages.batches.create({ requests: [request("same", "claude-haiku-4-5", "hi"), request("same", "claude-haiku-4-5", "hi")] }));
    expect(dup.message).toMatch(/^requests\[1\]: custom_id "same" is also used by item 0/);
    const noTokens = await failure(() => alice.messages.batches.create({ requests: [{ custom_id: "x", params: { model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }] } as never }] }));
    expect(noTokens).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect((await failure(() => alice.messages.batches.retrieve("msgbatch_0123456789abcdef0123456789abcdef"))).status).toBe(404);
    expect((await failure(() => alice.messages.batches.retrieve("nonsense"))).status).toBe(404);
  });

  it("cancels: canceling turns ended at once when nothing runs, every request canceled", async () => {
    const created = await idleAlice.messages.batches.create({ requests: [request("a", "claude-haiku-4-5", "hi"), request("b", "gpt-4o-mini", "hi")] });
    expect(created.processing_status).toBe("in_progress");
    // Results exist once the batch has ended (the SDK itself checks results_url first; a raw GET is refused).
    const early = await idle.request(`/v1/messages/batches/${created.id}/results`);
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", code: "INVALID_REQUEST" } });
    const cancelled = await idleAlice.messages.batches.cancel(created.id);
    expect(cancelled.processing_status).toBe("ended");
    expect(cancelled.cancel_initiated_at).not.toBeNull();
    expect(cancelled.request_counts).toEqual({ processing: 0, succeeded: 0, errored: 0, canceled: 2, expired: 0 });
    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const r of await idleAlice.messages.batches.results(created.id)) results.push(r);
    expect(results.map((r) => [r.custom_id, r.result.type]).sort()).toEqual([["a", "canceled"], ["b", "canceled"]]);
  });

  it("lists newest first, paging with after_id and before_id", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.unshift((await idleAlice.messages.batches.create({ requests: [request(`l${i}`, "claude-haiku-4-5", "hi")] })).id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = await idleAlice.messages.batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual(ids.slice(0, 2));
    expect(first.has_more).toBe(true);
    expect(first.first_id).toBe(ids[0]);
    expect(first.last_id).toBe(ids[1]);
    const after = await idleAlice.messages.batches.list({ limit: 2, after_id: ids[1]! });
    expect(after.data[0]?.id).toBe(ids[2]);
    const before = await idleAlice.messages.batches.list({ limit: 5, before_id: ids[2]! });
    expect(before.data.map((b) => b.id)).toEqual(ids.slice(0, 2));
    expect(before.has_more).toBe(false);
    const all: string[] = [];
    for await (const b of idleAlice.messages.batches.list({ limit: 2 })) all.push(b.id);
    expect(all.slice(0, 3)).toEqual(ids);
    const idleBob = new Anthropic({ baseURL: idle.url, apiKey: KEYS.bob, maxRetries: 0 });
    expect((await idleBob.messages.batches.list()).data).toEqual([]);

    // A batch whose keys expired is skipped; a page before before_id never reaches before_id itself.
    await idle.redis.del(idle.keys.batch(`batch_${ids[1]!.slice(9)}`));
    expect((await idleAlice.messages.batches.list({ limit: 5, before_id: ids[2]! })).data.map((b) => b.id)).toEqual([ids[0]]);
  });
});
