import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { SchemaGuard, sha256Hex, type JobPayload } from "@llmq/shared";
import { GUIDE, KEYS, eventually, startStack, unique, type Stack } from "./helpers.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const guard = new SchemaGuard();

describe("job routes, sync", () => {
  it("each structured curl of the guide answers 200 with output valid against its schema, usage counted, one provider call each", async () => {
    s = await startStack("guide");
    for (const body of [GUIDE.simple, GUIDE.nested, GUIDE.array]) {
      const r = await s.request("/api/v1/structured", { body });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ type: "structured", model: body.model, simulated: true, cached: false, finish_reason: "stop" });
      expect(guard.validate(body.schema, r.body.output).valid).toBe(true);
      expect(r.body.usage.input_tokens).toBeGreaterThan(0);
      expect(r.body.usage.output_tokens).toBeGreaterThan(0);
      expect(r.body.usage.total_tokens).toBe(r.body.usage.input_tokens + r.body.usage.output_tokens);
      expect(r.headers.get("server-timing")).toMatch(/^queue;dur=[\d.]+, provider;dur=[\d.]+, validate;dur=[\d.]+, total;dur=[\d.]+$/);
      expect(r.headers.get("x-request-id")).toBeTruthy();
      // Stored state: the record the worker wrote is the body we got.
      expect((await s.record(r.body.id))?.result).toEqual(r.body);
    }
    expect(await s.providerCalls()).toBeGreaterThanOrEqual(3);
  });

  it("the unstructured and conversation curls answer 200 with text; the job was enqueued on the model's provider queue, normalised", async () => {
    s = await startStack("text");
    const u = await s.request("/api/v1/unstructured", { body: GUIDE.unstructured });
    expect(u.status, u.text).toBe(200);
    expect(u.body).toMatchObject({ type: "unstructured", model: "llama3-8b-8192", provider: "groq" });
    expect(typeof u.body.output).toBe("string");
    expect(u.body.usage.output_tokens).toBeGreaterThan(0);

    const c = await s.request("/api/v1/conversation", { body: GUIDE.conversation });
    expect(c.status, c.text).toBe(200);
    expect(c.body.message).toEqual({ role: "assistant", content: c.body.output });
    expect(c.body.context).toMatchObject({ messages_in: 4 });

    // The payload the worker saw: a prompt became one user message; owner is the key's name.
    const job = await s.queue("groq").getJob(u.body.id);
    const data = job?.data as JobPayload | undefined;
    if (data !== undefined) {
      expect(data).toMatchObject({ type: "unstructured", owner: "alice", messages: [{ role: "user", content: GUIDE.unstructured.prompt }], max_tokens: 500 });
    }
    expect((await s.record(u.body.id))?.owner).toBe("alice");
    const stats = await s.simStats();
    expect(stats.by_provider.groq).toBeGreaterThanOrEqual(1);
    expect(stats.by_provider.openai).toBeGreaterThanOrEqual(1);
  });

  it("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
    s = await startStack("reqid");
    const ok = await s.request("/api/v1/models", { headers: { "x-request-id": "client-123" } });
    expect(ok.headers.get("x-request-id")).toBe("client-123");
    const bad = await s.request("/api/v1/models", { headers: { "x-request-id": "a b\tc" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const err = await s.request("/api/v1/unstructured", { body: { model: "nope", prompt: "x" }, headers: { "x-request-id": "client-456" } });
    expect(err.body.error.request_id).toBe("client-456");
  });

  it("a failed job answers with the contract's status: 422 OUTPUT_SCHEMA_MISMATCH with the job id", async () => {
    s = await startStack("fail422", { env: { STRUCTURED_MAX_REPAIRS: "1" } });
    const r = await s.request("/api/v1/structured", { body: { ...GUIDE.simple, prompt: unique("[[sim:bad-schemaxall]] a user") } });
    expect(r.status, r.text).toBe(422);
    expect(r.body.error.code).toBe("OUTPUT_SCHEMA_MISMATCH");
    expect(r.body.error.details.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.error.request_id).toBe(r.headers.get("x-request-id"));
    expect((await s.record(r.body.error.details.job_id))?.status).toBe("failed");
    // One call and one repair, then the job fails: no retries of a schema mismatch.
    expect(await s.providerCalls()).toBe(2);
  });

  it("a provider refusing the request maps to 502 PROVIDER_ERROR", async () => {
    s = await startStack("fail502");
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: unique("[[sim:401]] hello") } });
    expect(r.status, r.text).toBe(502);
    expect(r.body.error.code).toBe("PROVIDER_ERROR");
    expect(r.body.error.details.job_id).toBeTruthy();
  });
});

describe("a provider that keeps answering 429", () => {
  it("fails the job with 429 PROVIDER_RATE_LIMITED and a Retry-After once RATE_LIMIT_MAX_WAIT_S of 429s is spent", async () => {
    s = await startStack("fail429", { env: { JOB_ATTEMPTS: "1", RATE_LIMIT_MAX_WAIT_S: "1" } });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: unique("[[sim:429@100msxall]] hello") } });
    expect(r.status, r.text).toBe(429);
    expect(r.body.error.code).toBe("PROVIDER_RATE_LIMITED");
    expect(r.headers.get("retry-after")).toBe("30");
    // A 429 is not an attempt: with JOB_ATTEMPTS=1 the job still waited out a second of them (about one call
    // per 100 ms retry-after) before it gave up.
    expect(await s.providerCalls()).toBeGreaterThan(3);
  });
});

describe("async, polling and the 202 hand-over", () => {
  it("?async=true answers 202 + Location at once; polling reaches completed with the same body a sync call returns", async () => {
    s = await startStack("async");
    const r = await s.request("/api/v1/structured?async=true", { body: GUIDE.simple });
    expect(r.status).toBe(202);
    expect(r.headers.get("location")).toBe(`/api/v1/jobs/${r.body.id}`);
    expect(r.headers.get("retry-after")).toBe("1");
    expect(r.body).toMatchObject({ type: "structured", status: "queued", attempts: 0 });
    const done = await eventually(async () => {
      const p = await s!.request(r.headers.get("location")!);
      return p.body.status === "completed" ? p : undefined;
    });
    expect(done.body.result.id).toBe(r.body.id);
    expect(done.body.result).toEqual((await s.record(r.body.id))?.result);
    expect(done.body.finished_at).toBeGreaterThanOrEqual(done.body.created_at);
    expect(done.headers.get("server-timing")).toMatch(/^queue;dur=/);
  });

  it("Prefer: respond-async answers 202 and says so in Preference-Applied", async () => {
    s = await startStack("prefer");
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: "hi" }, headers: { prefer: "respond-async" } });
    expect(r.status).toBe(202);
    expect(r.headers.get("preference-applied")).toBe("respond-async");
  });

  it("when the job outlasts wait, the request answers 202 in time, and polling finds the same result the sync call would have had", async () => {
    s = await startStack("handover", { sim: { latencyMs: 600 } });
    const r = await s.request("/api/v1/unstructured?wait=0.2", { body: { model: "gpt-4", prompt: unique("slow") } });
    expect(r.status).toBe(202);
    expect(r.ms).toBeLessThan(550);
    expect(["queued", "active"]).toContain(r.body.status);
    const done = await eventually(async () => {
      const p = await s!.request(`/api/v1/jobs/${r.body.id}`);
      return p.body.status === "completed" ? p : undefined;
    });
    expect(done.body.result).toEqual((await s.record(r.body.id))?.result);
    expect(await s.providerCalls()).toBe(1);
  });

  it("Prefer: wait=N bounds the wait like ?wait", async () => {
    s = await startStack("preferwait", { sim: { latencyMs: 500 } });
    const r = await s.request("/api/v1/unstructured", { body: { model: "gpt-4", prompt: unique("slow") }, headers: { prefer: "wait=0.1" } });
    expect(r.status).toBe(202);
    expect(r.headers.get("preference-applied")).toBe("wait=0.1");
  });

  it("a result that lands exactly as the wait ends is answered, never lost (many racing requests)", async () => {
    s = await startStack("race", { sim: { latencyMs: 100 } });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s!.request(`/api/v1/unstructured?wait=${(0.08 + i * 0.004).toFixed(3)}`, { body: { model: "gpt-4", prompt: unique("race") } })),
    );
    for (const r of replies) {
      expect([200, 202]).toContain(r.status);
      const id: string = r.body.id;
      const final = await eventually(async () => {
        const p = await s!.request(`/api/v1/jobs/${id}`);
        return p.body.status === "completed" ? p : undefined;
      });
      if (r.status === 200) expect(final.body.result).toEqual(r.body);
    }
    // No waiter is left behind.
    expect(s.runtime.deps.waiter.size).toBe(0);
  });

  it("a client that leaves while its job is being enqueued frees its wait at once; the job is still enqueued", async () => {
    s = await startStack("abort", { worker: false });
    const queue = s.runtime.deps.queues.openai;
    const add = queue.add.bind(queue);
    const client = new AbortController();
    // The client goes away between the waiter's registration and the end of queue.add.
    queue.add = (async (...args: Parameters<typeof add>) => {
      client.abort();
      await new Promise((r) => setTimeout(r, 100));
      return add(...args);
    }) as typeof add;
    const sent = fetch(`${s.url}/api/v1/unstructured?wait=30`, {
      method: "POST",
      headers: { "x-api-key": KEYS.alice, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4", prompt: unique("gone") }),
      signal: client.signal,
    });
    await expect(sent).rejects.toThrow();
    await eventually(async () => ((await s!.queue("openai").getJobs(["waiting"])).length === 1 ? true : undefined));
    await eventually(async () => (s!.runtime.deps.waiter.size === 0 ? true : undefined), 2000);
  });

  it("a done message that carries the record is answered without reading the result key", async () => {
    s = await startStack("donerecord", { worker: false });
    const pending = s.request("/api/v1/unstructured?wait=5", { body: { model: "gpt-4", prompt: "carried" } });
    const job = await eventually(async () => (await s!.queue("openai").getJobs(["waiting"]))[0]);
    const result = { id: job.id, type: "unstructured", model: "gpt-4", provider: "openai", simulated: true, output: "hi", finish_reason: "stop", usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 }, attempts: 1, repairs: 0, cached: false, timings: { queued_ms: 1, provider_ms: 2, validate_ms: 0, total_ms: 3 } };
    const record = { id: job.id, type: "unstructured", owner: "alice", status: "completed", result, attempts: 1, created_at: 1, finished_at: 2 };
    await s.redis.publish(s.keys.doneChannel(), `${job.id}\n${JSON.stringify(record)}`);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body).toEqual(result);
    expect(await s.record(job.id!)).toBeNull();
  });

  it("invalid wait or async values are a 400 naming the parameter", async () => {
    s = await startStack("waitbad", { worker: false });
    const r = await s.request("/api/v1/unstructured?wait=soon", { body: { model: "gpt-4", prompt: "x" } });
    expect(r.status).toBe(400);
    expect(r.body.error.details.errors[0].path).toBe("?wait");
  });
});

describe("idempotency and the response cache", () => {
  it("the same Idempotency-Key from the same key returns the same job: one provider call", async () => {
    s = await startStack("idem");
    const body = { model: "gpt-4", prompt: unique("idempotent") };
    const a = await s.request("/api/v1/unstructured", { body, headers: { "idempotency-key": "order-1" } });
    const b = await s.request("/api/v1/unstructured", { body, headers: { "idempotency-key": "order-1" } });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await s.providerCalls()).toBe(1);
    // A different request under the same key is refused; another key may use the same Idempotency-Key.
    const c = await s.request("/api/v1/unstructured", { body: { ...body, prompt: "other" }, headers: { "idempotency-key": "order-1" } });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    const d = await s.request("/api/v1/unstructured", { as: "bob", body, headers: { "idempotency-key": "order-1" } });
    expect(d.status).toBe(200);
    expect(d.body.id).not.toBe(a.body.id);
    expect(await s.providerCalls()).toBe(2);
  });

  it("concurrent requests with one Idempotency-Key share one job", async () => {
    s = await startStack("idemrace", { sim: { latencyMs: 200 } });
    const body = { model: "claude-2", prompt: unique("once") };
    const replies = await Promise.all(Array.from({ length: 5 }, () => s!.request("/api/v1/unstructured", { body, headers: { "idempotency-key": "k-race" } })));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await s.providerCalls()).toBe(1);
  });

  it("a replay whose job has expired answers 404 instead of waiting out its wait for a 202", async () => {
    s = await startStack("idemexpired");
    const body = { model: "gpt-4", prompt: unique("expires") };
    const a = await s.request("/api/v1/unstructured", { body, headers: { "idempotency-key": "old-order" } });
    expect(a.status).toBe(200);
    // What RESULT_TTL_S < IDEMPOTENCY_TTL_S leaves after a while: the key, claimed long ago, and no job.
    const idemKey = s.keys.idempotency("alice", sha256Hex("old-order"));
    const [jobId, requestHash] = ((await s.redis.get(idemKey)) ?? "").split(" ");
    expect(jobId).toBe(a.body.id);
    await s.redis.set(idemKey, `${jobId} ${requestHash} ${Date.now() - 60_000}`, "KEEPTTL");
    await s.redis.del(s.keys.result(a.body.id));
    await (await s.queue("openai").getJob(a.body.id))?.remove();
    const b = await s.request("/api/v1/unstructured?wait=5", { body, headers: { "idempotency-key": "old-order" } });
    expect(b.status, b.text).toBe(404);
    expect(b.body.error.details.job_id).toBe(a.body.id);
    expect(await s.providerCalls()).toBe(1);
  });

  it("an async replay answers 202 with the first job", async () => {
    s = await startStack("idemasync", { worker: false });
    const body = { model: "gpt-4", prompt: "queued" };
    const a = await s.request("/api/v1/unstructured?async=true", { body, headers: { "idempotency-key": "k1" } });
    const b = await s.request("/api/v1/unstructured?async=true", { body, headers: { "idempotency-key": "k1" } });
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    expect(await s.queue("openai").getJobCountByTypes("waiting")).toBe(1);
  });

  it('"cache": true answers an identical request from the cache without enqueueing; hits and misses are counted', async () => {
    s = await startStack("cache");
    const body = { ...GUIDE.simple, prompt: unique("cache me"), cache: true };
    const first = await s.request("/api/v1/structured", { body });
    expect(first.status).toBe(200);
    expect(first.body.cached).toBe(false);
    const second = await s.request("/api/v1/structured", { body });
    expect(second.status).toBe(200);
    expect(second.body.cached).toBe(true);
    expect(second.body.output).toEqual(first.body.output);
    expect(await s.providerCalls()).toBe(1);
    // Another key never sees alice's cached answers.
    const bob = await s.request("/api/v1/structured", { as: "bob", body });
    expect(bob.body.cached).toBe(false);
    // Without cache: true, no lookup.
    const plain = await s.request("/api/v1/structured", { body: { ...body, cache: undefined } });
    expect(plain.body.cached).toBe(false);
    const metrics = (await s.request("/metrics", { as: null })).text;
    expect(metrics).toMatch(/llmq_api_cache_requests_total\{outcome="hit"\} 1/);
    expect(metrics).toMatch(/llmq_api_cache_requests_total\{outcome="miss"\} 2/);
  });
});

describe("jobs/{id}: polling and cancelling", () => {
  it("a queued job polls as queued; DELETE cancels it, stores a cancelled record and removes it from the queue", async () => {
    s = await startStack("cancel", { worker: false });
    const r = await s.request("/api/v1/unstructured?async=true", { body: { model: "claude-2", prompt: "never runs" } });
    const polled = await s.request(`/api/v1/jobs/${r.body.id}`);
    expect(polled.body).toMatchObject({ id: r.body.id, type: "unstructured", status: "queued", attempts: 0 });
    expect(polled.headers.get("retry-after")).toBe("1");

    const del = await s.request(`/api/v1/jobs/${r.body.id}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: r.body.id, status: "cancelled" });
    expect((await s.record(r.body.id))?.status).toBe("cancelled");
    expect(await s.queue("anthropic").getJob(r.body.id)).toBeUndefined();
    expect((await s.request(`/api/v1/jobs/${r.body.id}`)).body.status).toBe("cancelled");
    // Cancelling again answers the same.
    const again = await s.request(`/api/v1/jobs/${r.body.id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(del.body);
  });

  it("a sync request whose job is cancelled answers 409 JOB_CANCELLED", async () => {
    s = await startStack("cancelsync", { worker: false });
    const pending = s.request("/api/v1/unstructured?wait=5", { body: { model: "gpt-4", prompt: "wait for me" } });
    const id = await eventually(async () => (await s!.queue("openai").getJobs(["waiting"]))[0]?.id);
    expect((await s.request(`/api/v1/jobs/${id}`, { method: "DELETE" })).status).toBe(200);
    const r = await pending;
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: "JOB_CANCELLED", details: { job_id: id } });
  });

  it("an active job cannot be cancelled: 409 JOB_NOT_CANCELLABLE; a finished one neither", async () => {
    s = await startStack("cancelactive", { sim: { latencyMs: 1500 } });
    const r = await s.request("/api/v1/unstructured?async=true", { body: { model: "gpt-4", prompt: unique("busy") } });
    await eventually(async () => ((await s!.request(`/api/v1/jobs/${r.body.id}`)).body.status === "active" ? true : undefined));
    const del = await s.request(`/api/v1/jobs/${r.body.id}`, { method: "DELETE" });
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe("JOB_NOT_CANCELLABLE");
    await eventually(async () => ((await s!.record(r.body.id))?.status === "completed" ? true : undefined));
    expect((await s.request(`/api/v1/jobs/${r.body.id}`, { method: "DELETE" })).status).toBe(409);
  });

  it("an unknown or malformed id is 404", async () => {
    s = await startStack("404", { worker: false });
    expect((await s.request("/api/v1/jobs/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    const bad = await s.request("/api/v1/jobs/not-a-uuid");
    expect(bad.status).toBe(404);
    expect(bad.body.error.code).toBe("NOT_FOUND");
  });
});

describe("schemas", () => {
  it("POST registers a schema (201); schema_id then stands for it; GET returns it", async () => {
    s = await startStack("schemas");
    const reg = await s.request("/api/v1/schemas", { body: { name: "user", schema: GUIDE.simple.schema } });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({ id: expect.stringMatching(/^sch_[0-9a-f]{32}$/), name: "user", schema: GUIDE.simple.schema });
    expect(reg.headers.get("location")).toBe(`/api/v1/schemas/${reg.body.id}`);
    expect(await s.redis.exists(s.keys.schema("alice", reg.body.id))).toBe(1);
    expect((await s.request(`/api/v1/schemas/${reg.body.id}`)).body).toEqual(reg.body);

    const r = await s.request("/api/v1/structured", { body: { model: "gpt-4o-mini", prompt: "a user", schema_id: reg.body.id } });
    expect(r.status, r.text).toBe(200);
    expect(guard.validate(GUIDE.simple.schema, r.body.output).valid).toBe(true);

    const missing = await s.request("/api/v1/structured", { body: { model: "gpt-4o-mini", prompt: "a user", schema_id: "sch_00000000000000000000000000000000" } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.errors[0].path).toBe("/schema_id");
  });

  it("an invalid schema is refused with 400 INVALID_SCHEMA, at registration and inline", async () => {
    s = await startStack("schemabad", { worker: false });
    const reg = await s.request("/api/v1/schemas", { body: { schema: { type: "objekt" } } });
    expect(reg.status).toBe(400);
    expect(reg.body.error.code).toBe("INVALID_SCHEMA");
    const inline = await s.request("/api/v1/structured", { body: { model: "gpt-4", prompt: "x", schema: { $ref: "https://example.com/s.json" } } });
    expect(inline.status).toBe(400);
    expect(inline.body.error.code).toBe("INVALID_SCHEMA");
    expect(inline.body.error.details.errors.length).toBeGreaterThan(0);
    expect(await s.queue("openai").count()).toBe(0);
  });
});

describe("models, health, metrics", () => {
  it("GET /models lists the registry with limits and simulated flags", async () => {
    s = await startStack("models", { worker: false });
    const r = await s.request("/api/v1/models");
    expect(r.status).toBe(200);
    const ids = r.body.models.map((m: { id: string }) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["gpt-3.5-turbo", "gpt-4", "claude-2", "llama3-8b-8192"]));
    expect(r.body.models.find((m: { id: string }) => m.id === "gpt-4")).toEqual({
      id: "gpt-4",
      provider: "openai",
      context_window: 8192,
      max_output_tokens: 8192,
      supports: { structured: true, conversation: true },
      available: true,
      simulated: true,
    });
  });

  it("GET /health: status only without a key; queues and workers with one", async () => {
    s = await startStack("health");
    const open = await s.request("/api/v1/health", { as: null });
    expect(open.status).toBe(200);
    expect(open.body).toEqual({ status: "ok" });
    const full = await s.request("/api/v1/health");
    expect(full.body).toMatchObject({ status: "ok", redis: "up", workers: 1, version: "0.1.0" });
    // The worker is named by its host and pid (this test process runs it).
    expect(full.body.queues["jobs-openai"]).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, workers: 1, worker_names: [`${hostname()}:${process.pid}`] });
    expect(typeof full.body.uptime_s).toBe("number");
    expect((await s.request("/api/v1/health", { as: { raw: "wrong" } })).status).toBe(401);
  });

  it("GET /metrics counts requests by route and status", async () => {
    s = await startStack("metrics", { worker: false });
    await s.request("/api/v1/models");
    await s.request("/api/v1/jobs/00000000-0000-4000-8000-000000000000");
    const m = await s.request("/metrics", { as: null });
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/llmq_api_requests_total\{route="\/api\/v1\/models",method="GET",status="200"\} 1/);
    expect(m.text).toMatch(/llmq_api_requests_total\{route="\/api\/v1\/jobs\/:id",method="GET",status="404"\} 1/);
    expect(m.text).toMatch(/llmq_api_request_duration_seconds_bucket/);
  });
});
