import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI, { toFile } from "openai";
import { freePort } from "@llmq/shared/testing";
import { masterNodes } from "@llmq/shared";
import { eventually, KEYS, startStack, unique, type Stack } from "../helpers.js";

/**
 * The OpenAI Files and Batch API with the official `openai` client, pointed at llmq's /v1 by baseURL: upload a
 * JSONL file, run it as a batch through llmq's own batches, read the output and error files.
 */
let stack: Stack;
let idle: Stack;
let alice: OpenAI;
let bob: OpenAI;
let idleAlice: OpenAI;

beforeAll(async () => {
  [stack, idle] = await Promise.all([startStack("compat-openai-batches"), startStack("compat-openai-batches-idle", { worker: false, env: { FILE_MAX_BYTES: "4kb" } })]);
  alice = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
  bob = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.bob, maxRetries: 0 });
  idleAlice = new OpenAI({ baseURL: `${idle.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
});
afterAll(async () => Promise.all([stack?.close(), idle?.close()]));

type Line = { custom_id: string; method: string; url: string; body: Record<string, unknown> };

function chatLine(customId: string, model: string, prompt: string): Line {
  return { custom_id: customId, method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content: prompt }], max_tokens: 40 } };
}

function jsonl(lines: unknown[]): string {
  return lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
}

async function upload(client: OpenAI, text: string): Promise<OpenAI.FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(text), "batch.jsonl"), purpose: "batch" });
}

async function finished(client: OpenAI, id: string, timeoutMs = 30_000): Promise<OpenAI.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (["completed", "cancelled", "failed", "expired"].includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function fileLines(client: OpenAI, id: string): Promise<any[]> {
  const text = await (await client.files.content(id)).text();
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

async function status(client: OpenAI, call: () => Promise<unknown>): Promise<{ status: number; code: string; message: string; param: string | null }> {
  try {
    await call();
  } catch (err) {
    if (err instanceof OpenAI.APIError) {
      const e = err.error as { code?: string; message?: string; param?: string | null } | undefined;
      return { status: err.status ?? 0, code: e?.code ?? "", message: e?.message ?? err.message, param: e?.param ?? null };
    }
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("/v1/files with the openai client", () => {
  it("uploads a batch file, and reads it back: retrieve, list, content, delete", async () => {
    const text = jsonl([chatLine("a", "gpt-4o-mini", "hi")]);
    const file = await upload(alice, text);
    expect(file).toMatchObject({ object: "file", bytes: Buffer.byteLength(text), filename: "batch.jsonl", purpose: "batch" });
    expect(file.id).toMatch(/^file-[0-9a-f]{32}$/);
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(60);
    expect(await alice.files.retrieve(file.id)).toEqual(file);
    expect(await (await alice.files.content(file.id)).text()).toBe(text);
    const listed = [];
    for await (const f of alice.files.list()) listed.push(f.id);
    expect(listed).toContain(file.id);
    // Another key sees nothing of it.
    expect((await status(bob, () => bob.files.retrieve(file.id))).status).toBe(404);
    expect((await status(bob, () => bob.files.content(file.id))).status).toBe(404);
    expect((await status(bob, () => bob.files.delete(file.id))).status).toBe(404);
    const bobs = [];
    for await (const f of bob.files.list()) bobs.push(f.id);
    expect(bobs).not.toContain(file.id);

    const named = await alice.files.create({ file: await toFile(Buffer.from(text), "données été.jsonl"), purpose: "batch" });
    expect(named.filename).toBe("données été.jsonl");
    expect(await alice.files.delete(file.id)).toEqual({ id: file.id, object: "file", deleted: true });
    expect((await status(alice, () => alice.files.retrieve(file.id))).status).toBe(404);
    expect(await stack.redis.exists(stack.keys.file(file.id), stack.keys.filePart(file.id, "content"))).toBe(0);
  });

  it("lists files newest first, a page at a time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.unshift((await upload(idleAlice, jsonl([chatLine(`p${i}`, "gpt-4o-mini", "hi")]))).id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = await idleAlice.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual(ids.slice(0, 2));
    expect(first.has_more).toBe(true);
    const all = [];
    for await (const f of idleAlice.files.list({ limit: 2 })) all.push(f.id);
    expect(all.slice(0, 3)).toEqual(ids);
    // An expired file leaves the list and its index.
    await idle.redis.del(idle.keys.file(ids[1]!));
    expect((await idleAlice.files.list({ limit: 2 })).data.map((f) => f.id)).toEqual([ids[0], ids[2]]);
    expect(await idle.redis.zscore(idle.keys.ownerFiles("alice"), ids[1]!)).toBeNull();
  });

  it("refuses other purposes, a missing file part, and a file above FILE_MAX_BYTES", async () => {
    const wrong = await status(idleAlice, async () => idleAlice.files.create({ file: await toFile(Buffer.from("x\n"), "a.jsonl"), purpose: "fine-tune" }));
    expect(wrong).toMatchObject({ status: 400, code: "INVALID_REQUEST", param: "purpose" });
    expect(wrong.message).toContain('must be "batch"');

    const fieldsOnly = new FormData();
    fieldsOnly.set("purpose", "batch");
    const noFile = await fetch(`${idle.url}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${KEYS.alice}` }, body: fieldsOnly });
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as { error: { param: string } }).error.param).toBe("file");

    const big = await status(idleAlice, async () => idleAlice.files.create({ file: await toFile(Buffer.alloc(5000, "a"), "big.jsonl"), purpose: "batch" }));
    expect(big).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    // Refused on its Content-Length, before the body is read.
    const form = new FormData();
    form.set("purpose", "batch");
    form.set("file", new Blob([Buffer.alloc(200 * 1024, "a")]), "huge.jsonl");
    const huge = await fetch(`${idle.url}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${KEYS.alice}` }, body: form });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    const json = await fetch(`${idle.url}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${KEYS.alice}`, "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(415);
    // Nothing half-stored: no staging key left behind.
    expect(await idle.redis.keys(`${idle.config.redis.prefix}:file:*:upload`)).toEqual([]);
  });

  it("answers an upload 503 at once when Redis is down, in OpenAI's error shape", async () => {
    const dead = await startStack("compat-files-deadredis", { worker: false, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      const client = new OpenAI({ baseURL: `${dead.url}/v1`, apiKey: KEYS.alice, maxRetries: 0, timeout: 10_000 });
      const started = performance.now();
      // Three megabytes: several chunks, the first write fails and the rest is drained.
      const failed = await status(client, async () => client.files.create({ file: await toFile(Buffer.alloc(3 * 1024 * 1024, "a"), "big.jsonl"), purpose: "batch" }));
      expect(failed).toMatchObject({ status: 503, code: "QUEUE_UNAVAILABLE" });
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await dead.close();
    }
  });
});

describe("/v1/batches with the openai client", () => {
  it("runs a file end to end: every custom_id once in the output file, failures in the error file", async () => {
    const prompt = unique("Say something");
    const lines = [chatLine("req-1", "gpt-4o-mini", prompt), chatLine("req-2", "claude-haiku-4-5", prompt), chatLine("req-3", "llama-3.1-8b-instant", prompt), chatLine("req-bad", "gpt-4o-mini", unique("[[sim:400xall]] fail"))];
    const file = await upload(alice, jsonl(lines));
    const created = await alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { run: "e2e" } });
    expect(created).toMatchObject({ object: "batch", endpoint: "/v1/chat/completions", input_file_id: file.id, completion_window: "24h", metadata: { run: "e2e" }, output_file_id: null });
    expect(created.id).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(["in_progress", "completed"]).toContain(created.status);
    expect(created.request_counts?.total).toBe(4);

    const batch = await finished(alice, created.id);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 4, completed: 3, failed: 1 });
    expect(batch.completed_at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.output_file_id).toBe(`file-out-${batch.id.slice(6)}`);

    const out = await fileLines(alice, batch.output_file_id!);
    expect(out.map((l) => l.custom_id).sort()).toEqual(["req-1", "req-2", "req-3"]);
    for (const line of out) {
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.error).toBeNull();
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.object).toBe("chat.completion");
      expect(line.response.body.choices[0].message.content.length).toBeGreaterThan(0);
      expect(line.response.body.model).toBe(lines.find((l) => l.custom_id === line.custom_id)?.body.model);
    }
    const errors = await fileLines(alice, batch.error_file_id!);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: "req-bad", response: { status_code: 502, body: { error: { code: "PROVIDER_ERROR" } } }, error: null });

    // The generated files are files too: retrieve with their byte counts; another key gets 404.
    const outFile = await alice.files.retrieve(batch.output_file_id!);
    expect(outFile).toMatchObject({ object: "file", purpose: "batch_output" });
    expect(outFile.bytes).toBe(Buffer.byteLength(await (await alice.files.content(batch.output_file_id!)).text()));
    expect((await status(bob, () => bob.files.content(batch.output_file_id!))).status).toBe(404);
    expect((await status(bob, () => bob.batches.retrieve(batch.id))).status).toBe(404);
    expect((await status(bob, () => bob.batches.cancel(batch.id))).status).toBe(404);

    // Underneath it is one llmq batch: the same record /api/v1/batches serves.
    const llmq = await stack.request(`/api/v1/batches/${batch.id}`);
    expect(llmq.body.counts).toMatchObject({ total: 4, completed: 3, failed: 1 });
  });

  it("refuses a file with a bad line, naming the line, and stores nothing", async () => {
    // Every master's keys (KEYS sees one node's on the cluster project).
    const count = async (pattern: string): Promise<number> => (await Promise.all(masterNodes(stack.redis).map((n) => n.keys(pattern)))).flat().length;
    const batchKeys = async () => (await count(`${stack.config.redis.prefix}:batch:*`)) + (await count(`${stack.config.redis.prefix}:compat-batch*`));
    const before = await batchKeys();
    const file = await upload(alice, jsonl([chatLine("ok", "gpt-4o-mini", "hi"), "{not json", chatLine("x", "gpt-4o-mini", "hi")]));
    const bad = await status(alice, () => alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(bad).toMatchObject({ status: 400, code: "INVALID_JSON" });
    expect(bad.message).toContain("line 2");

    const wrongUrl = await upload(alice, jsonl([chatLine("ok", "gpt-4o-mini", "hi"), { ...chatLine("e", "gpt-4o-mini", "hi"), url: "/v1/embeddings" }]));
    const url = await status(alice, () => alice.batches.create({ input_file_id: wrongUrl.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(url).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect(url.message).toContain("line 2");

    const unknownModel = await upload(alice, jsonl([chatLine("ok", "gpt-4o-mini", "hi"), chatLine("m", "no-such-model", "hi")]));
    const model = await status(alice, () => alice.batches.create({ input_file_id: unknownModel.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(model).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect(model.message).toMatch(/^line 2 \(custom_id "m"\): unknown model/);

    const streamed = await upload(alice, jsonl([chatLine("ok", "gpt-4o-mini", "hi"), chatLine("ok2", "gpt-4o-mini", "hi"), { ...chatLine("s", "gpt-4o-mini", "hi"), body: { ...chatLine("s", "gpt-4o-mini", "hi").body, stream: true } }]));
    expect((await status(alice, () => alice.batches.create({ input_file_id: streamed.id, endpoint: "/v1/chat/completions", completion_window: "24h" }))).message).toBe("line 3: body.stream cannot be true in a batch");

    const dup = await upload(alice, jsonl([chatLine("same", "gpt-4o-mini", "hi"), chatLine("same", "gpt-4o-mini", "hi")]));
    expect((await status(alice, () => alice.batches.create({ input_file_id: dup.id, endpoint: "/v1/chat/completions", completion_window: "24h" }))).message).toContain("line 2");

    expect(await batchKeys()).toBe(before);
  });

  it("refuses another endpoint, another window, an unknown file and another key's file", async () => {
    const file = await upload(alice, jsonl([chatLine("ok", "gpt-4o-mini", "hi")]));
    const endpoint = await status(alice, () => alice.batches.create({ input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" }));
    expect(endpoint).toMatchObject({ status: 400, code: "INVALID_REQUEST", param: "endpoint" });
    expect(endpoint.message).toContain('"/v1/chat/completions"');
    const window = await status(alice, () => alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "48h" as "24h" }));
    expect(window).toMatchObject({ status: 400, param: "completion_window" });
    const metadata = await status(alice, () => alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { n: 1 as unknown as string } }));
    expect(metadata).toMatchObject({ status: 400, code: "INVALID_REQUEST", param: "metadata.n" });
    const extra = await status(alice, () => alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", output_expires_after: { anchor: "created_at", seconds: 3600 } }));
    expect(extra).toMatchObject({ status: 400, param: "output_expires_after" });
    const unknown = await status(alice, () => alice.batches.create({ input_file_id: "file-0123456789abcdef0123456789abcdef", endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(unknown).toMatchObject({ status: 404, code: "NOT_FOUND", param: "input_file_id" });
    const others = await status(bob, () => bob.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(others).toMatchObject({ status: 404, code: "NOT_FOUND" });
    expect((await status(alice, () => alice.batches.retrieve("batch_0123456789abcdef0123456789abcdef"))).status).toBe(404);
  });

  it("cancels a batch: cancelled, every request in the error file as batch_cancelled, nothing in an output file", async () => {
    const file = await upload(idleAlice, jsonl([chatLine("c1", "gpt-4o-mini", "hi"), chatLine("c2", "claude-haiku-4-5", "hi")]));
    const created = await idleAlice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(created.status).toBe("in_progress");
    const cancelled = await idleAlice.batches.cancel(created.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.cancelling_at).not.toBeNull();
    expect(cancelled.cancelled_at).not.toBeNull();
    expect(cancelled.request_counts).toEqual({ total: 2, completed: 0, failed: 2 });
    expect(cancelled.output_file_id).toBeNull();
    const errors = await fileLines(idleAlice, cancelled.error_file_id!);
    expect(errors.map((e) => e.custom_id).sort()).toEqual(["c1", "c2"]);
    for (const e of errors) expect(e).toMatchObject({ response: null, error: { code: "batch_cancelled" } });
    expect((await status(idleAlice, () => idleAlice.files.content(`file-out-${created.id.slice(6)}`))).status).toBe(404);
  });

  it("cancels a running batch: cancelling while started requests finish, then cancelled; each custom_id once across the two files", async () => {
    const slow = await startStack("compat-openai-batches-slow", { sim: { latencyMs: 1000 }, env: { WORKER_CONCURRENCY: "2" } });
    try {
      const client = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
      const ids = ["s0", "s1", "s2", "s3", "s4", "s5"];
      const file = await upload(client, jsonl(ids.map((id) => chatLine(id, "gpt-4o-mini", unique("hi")))));
      const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
      await eventually(async () => ((await slow.request(`/api/v1/batches/${created.id}`)).body.counts.active > 0 ? true : undefined), 10_000);
      const cancelling = await client.batches.cancel(created.id);
      expect(cancelling.status).toBe("cancelling");
      expect(cancelling.cancelling_at).not.toBeNull();
      expect(cancelling.output_file_id).toBeNull();
      const batch = await finished(client, created.id);
      expect(batch.status).toBe("cancelled");
      const counts = batch.request_counts!;
      expect(counts.completed).toBeGreaterThan(0);
      expect(counts.completed + counts.failed).toBe(6);
      const out = await fileLines(client, batch.output_file_id!);
      const errs = await fileLines(client, batch.error_file_id!);
      expect(out).toHaveLength(counts.completed);
      for (const e of errs) expect(e).toMatchObject({ response: null, error: { code: "batch_cancelled" } });
      expect([...out, ...errs].map((l) => l.custom_id).sort()).toEqual(ids);
    } finally {
      await slow.close();
    }
  });

  it("lists batches newest first with after/limit, only the key's own /v1 batches", async () => {
    const ids: string[] = [];
    const file = await upload(idleAlice, jsonl([chatLine("l", "gpt-4o-mini", "hi")]));
    for (let i = 0; i < 3; i++) {
      ids.unshift((await idleAlice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).id);
      await new Promise((r) => setTimeout(r, 5));
    }
    // A batch of /api/v1 is not a /v1 batch.
    const plain = await idle.request("/api/v1/batches", { body: { requests: [{ custom_id: "x", type: "chat", body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] } }] } });
    expect(plain.status).toBe(202);
    const page = await idleAlice.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual(ids.slice(0, 2));
    expect(page.has_more).toBe(true);
    const next = await idleAlice.batches.list({ limit: 2, after: ids[1]! });
    expect(next.data.map((b) => b.id)[0]).toBe(ids[2]);
    const all: string[] = [];
    for await (const b of idleAlice.batches.list({ limit: 2 })) all.push(b.id);
    expect(all.slice(0, 3)).toEqual(ids);
    expect(all).not.toContain(plain.body.id);
    expect((await status(idleAlice, () => idleAlice.batches.retrieve(plain.body.id))).status).toBe(404);
    const idleBob = new OpenAI({ baseURL: `${idle.url}/v1`, apiKey: KEYS.bob, maxRetries: 0 });
    expect((await idleBob.batches.list()).data).toEqual([]);

    // A batch whose keys expired leaves the list, and its index, and the page is filled from further down.
    await idle.redis.del(idle.keys.batch(ids[0]!));
    const index = idle.keys.ownerCompatBatches("alice", "openai");
    const size = await idle.redis.zcard(index);
    const after = await idleAlice.batches.list({ limit: 2 });
    expect(after.data.map((b) => b.id)).toEqual(ids.slice(1, 3));
    expect(await idle.redis.zcard(index)).toBe(size - 1);
  });
});

describe("when the /v1 record of a new batch cannot be stored", () => {
  it("the create call fails and the llmq batch underneath is cancelled, so nothing runs unseen", async () => {
    const idleBob = new OpenAI({ baseURL: `${idle.url}/v1`, apiKey: KEYS.bob, maxRetries: 0 });
    const file = await upload(idleBob, jsonl([chatLine("u1", "gpt-4o-mini", "hi"), chatLine("u2", "gpt-4o-mini", "hi")]));
    // The key's list index holds a string: the record's MULTI fails on it (WRONGTYPE).
    const index = idle.keys.ownerCompatBatches("bob", "openai");
    await idle.redis.set(index, "not a sorted set");
    try {
      const failed = await status(idleBob, () => idleBob.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
      expect(failed.status).toBe(500);
      const listed = await idle.request("/api/v1/batches", { as: "bob" });
      expect(listed.body.data).toHaveLength(1);
      expect(listed.body.data[0]).toMatchObject({ status: "cancelled", counts: { total: 2, cancelled: 2 } });
    } finally {
      await idle.redis.del(index);
    }
  });
});
