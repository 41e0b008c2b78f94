import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { capacityKey, DEFAULT_MODELS, QUEUE_NAMES, duplicateConnection, ModelRegistry, parseDoneMessage, type ConversationResult, type FinalJobRecord } from "@llmq/shared";
import { finalize } from "../src/finalize.js";
import { chatCalls, startHarness, unique, waitForState, type Harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("results, cache and the done channel", () => {
  it("publishes the job id with its record on the done channel once the record is readable, and caches by cache_key", async () => {
    h = await startHarness("done");
    const sub = new Redis(h.config.redis.url);
    const heard: Array<{ id: string; record: string | null; inline: string | undefined }> = [];
    await sub.subscribe(h.keys.doneChannel());
    const reader = duplicateConnection(h.redis, "test-reader");
    sub.on("message", (_ch, message: string) => {
      const { id, recordJson } = parseDoneMessage(message);
      void reader.get(h!.keys.result(id)).then((record) => heard.push({ id, record, inline: recordJson }));
    });
    try {
      const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: "Say hello", cache_key: "ck-1" });
      const record = await h.waitForRecord(id);
      await expect.poll(() => heard.length).toBe(1);
      expect(heard[0]?.id).toBe(id);
      expect(heard[0]?.record).not.toBeNull();
      expect(heard[0]?.inline).toBe(heard[0]?.record);
      const cached = JSON.parse((await h.redis.get(h.keys.cache("ck-1"))) ?? "null") as FinalJobRecord;
      expect(cached.result).toEqual(record.result);
      expect(await h.redis.ttl(h.keys.cache("ck-1"))).toBeGreaterThan(0);
      expect(await h.redis.ttl(h.keys.result(id))).toBeGreaterThan(h.config.jobs.resultTtlS - 10);
      // BullMQ keeps only a small return value, never the result again.
      expect((await h.queue("openai").getJob(id))?.returnvalue).toEqual({ stored: true });
    } finally {
      sub.disconnect();
      reader.disconnect();
    }
  });

  it("when a cancellation was stored first, the final write keeps it and announces the id alone", async () => {
    h = await startHarness("nx", { start: false });
    const id = "raced-job-1";
    const now = Date.now();
    const cancelled: FinalJobRecord = { id, type: "unstructured", owner: "o", status: "cancelled", attempts: 0, created_at: now, finished_at: now };
    await h.redis.set(h.keys.result(id), JSON.stringify(cancelled), "EX", 60);
    const sub = new Redis(h.config.redis.url);
    const heard: string[] = [];
    await sub.subscribe(h.keys.doneChannel());
    sub.on("message", (_ch, message: string) => heard.push(message));
    try {
      const failed: FinalJobRecord = { ...cancelled, status: "failed", error: { code: "PROVIDER_ERROR", message: "x" }, attempts: 1 };
      await finalize(h.redis, h.keys, failed, { resultTtlS: 60, cacheTtlS: 60 });
      await expect.poll(() => heard.length).toBe(1);
      expect(heard[0]).toBe(id);
      expect(JSON.parse((await h.redis.get(h.keys.result(id))) ?? "{}")).toMatchObject({ status: "cancelled" });
    } finally {
      sub.disconnect();
    }
  });

  it("a completed job that lost the race to a cancellation is not cached, and its job state is still cleaned up", async () => {
    h = await startHarness("nxcache", { start: false });
    const id = "raced-job-2";
    const now = Date.now();
    const cancelled: FinalJobRecord = { id, type: "unstructured", owner: "o", status: "cancelled", attempts: 0, created_at: now, finished_at: now };
    await h.redis.set(h.keys.result(id), JSON.stringify(cancelled), "EX", 60);
    await h.redis.hset(h.keys.jobState(id), "first_started", String(now));
    const completed: FinalJobRecord = { ...cancelled, status: "completed", attempts: 2 };
    await finalize(h.redis, h.keys, completed, { resultTtlS: 60, cacheTtlS: 60, cacheKey: "ck-raced" });
    expect(JSON.parse((await h.redis.get(h.keys.result(id))) ?? "{}")).toMatchObject({ status: "cancelled" });
    expect(await h.redis.exists(h.keys.cache("ck-raced"))).toBe(0);
    expect(await h.redis.exists(h.keys.jobState(id))).toBe(0);
  });

  it("a job the API marked cancelled before it started is skipped without a provider call, keeping the API's record", async () => {
    h = await startHarness("cancel", { start: false });
    const id = "cancelled-job-1";
    const cancelledAt = Date.now() - 1000;
    const cancelled: FinalJobRecord = { id, type: "unstructured", owner: "test-owner", status: "cancelled", attempts: 0, created_at: cancelledAt, finished_at: cancelledAt };
    await h.enqueue({ type: "unstructured", model: "claude-2", prompt: "Say hello" }, { jobId: id });
    // What DELETE /jobs/{id} does: the mark on the queued job, then the record.
    const job = await h.queue("anthropic").getJob(id);
    await job?.updateData({ ...job.data, cancelled_at: cancelledAt });
    await h.redis.set(h.keys.result(id), JSON.stringify({ ...cancelled, request: "the API's" }), "EX", 60);
    await h.service.start();
    expect(await waitForState(h.queue("anthropic"), id, "completed")).toBe("completed");
    expect((await h.queue("anthropic").getJob(id))?.returnvalue).toEqual({ stored: true, skipped: "cancelled" });
    expect(JSON.parse((await h.redis.get(h.keys.result(id))) ?? "{}")).toMatchObject({ status: "cancelled", request: "the API's" });
    expect(chatCalls(await h.stats())).toBe(0);
  });

  it("a marked job whose API died before storing the record gets its cancelled record from the worker", async () => {
    h = await startHarness("cancelmark", { start: false });
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: "Say hello" });
    const job = await h.queue("openai").getJob(id);
    const cancelledAt = Date.now() - 500;
    await job?.updateData({ ...job.data, cancelled_at: cancelledAt });
    await h.service.start();
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ id, status: "cancelled", attempts: 0, finished_at: cancelledAt, owner: "test-owner" });
    expect(record.started_at).toBeUndefined();
    expect(chatCalls(await h.stats())).toBe(0);
  });

  it("a job started before whose record exists (its run crashed after storing it) is not sent to the provider again", async () => {
    h = await startHarness("rerun", { start: false });
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: "Say hello" });
    const stored: FinalJobRecord = { id, type: "unstructured", owner: "test-owner", status: "completed", attempts: 1, created_at: Date.now(), finished_at: Date.now() };
    await h.redis.set(h.keys.result(id), JSON.stringify(stored), "EX", 60);
    // One start already counted, as BullMQ counts it when a stalled job is taken again.
    await h.redis.hincrby(`${h.keys.queuePrefix("openai")}:${QUEUE_NAMES.openai}:${id}`, "ats", 1);
    await h.service.start();
    expect(await waitForState(h.queue("openai"), id, "completed")).toBe("completed");
    expect((await h.queue("openai").getJob(id))?.returnvalue).toEqual({ stored: true, skipped: "completed" });
    expect(chatCalls(await h.stats())).toBe(0);
  });
});

describe("conversation", () => {
  it("maps roles per provider and returns the next assistant message", async () => {
    h = await startHarness("conv");
    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello." },
      { role: "user" as const, content: "Tell me about queues" },
    ];
    for (const model of ["claude-2", "gpt-4", "llama3-8b-8192"]) {
      const id = await h.enqueue({ type: "conversation", model, messages });
      const record = await h.waitForRecord(id);
      expect(record.status).toBe("completed");
      const result = record.result as ConversationResult;
      expect(result.message.role).toBe("assistant");
      expect(result.message.content).toBe(result.output);
      expect(result.output.length).toBeGreaterThan(0);
      expect(result.context).toEqual({ messages_in: 4, messages_sent: 4, truncated: 0 });
    }
  });

  it("drops the oldest turns to fit a tiny context window, keeping the system message and the last user turn", async () => {
    const tiny = new ModelRegistry([
      ...DEFAULT_MODELS,
      { ...(DEFAULT_MODELS.find((m) => m.id === "gpt-4") as (typeof DEFAULT_MODELS)[number]), id: "tiny-gpt", upstream: "gpt-4", context_window: 200, max_output_tokens: 50 },
    ]);
    h = await startHarness("convtrunc", { registry: tiny });
    const long = "lorem ipsum dolor sit amet ".repeat(10);
    const messages = [
      { role: "system" as const, content: "You are terse." },
      ...Array.from({ length: 10 }, (_, i) => ({ role: (i % 2 === 0 ? "user" : "assistant") as "user" | "assistant", content: `${i}: ${long}` })),
      { role: "user" as const, content: "And now?" },
    ];
    const id = await h.enqueue({ type: "conversation", model: "tiny-gpt", messages, max_tokens: 50 });
    const record = await h.waitForRecord(id);
    expect(record.status).toBe("completed");
    const ctx = (record.result as ConversationResult).context;
    expect(ctx.messages_in).toBe(12);
    expect(ctx.truncated).toBeGreaterThan(0);
    expect(ctx.messages_sent).toBe(12 - ctx.truncated);
    expect(ctx.messages_sent).toBeGreaterThanOrEqual(2);
  });

  it("fails with CONTEXT_LENGTH_EXCEEDED, without a provider call, when even the last turn does not fit", async () => {
    const tiny = new ModelRegistry([{ ...(DEFAULT_MODELS.find((m) => m.id === "claude-2") as (typeof DEFAULT_MODELS)[number]), context_window: 100, max_output_tokens: 20 }]);
    h = await startHarness("convover", { registry: tiny });
    const id = await h.enqueue({ type: "conversation", model: "claude-2", messages: [{ role: "user", content: "word ".repeat(500) }], max_tokens: 20 });
    const record = await h.waitForRecord(id);
    expect(record).toMatchObject({ status: "failed", attempts: 1, error: { code: "CONTEXT_LENGTH_EXCEEDED" } });
    expect(chatCalls(await h.stats())).toBe(0);
  });
});

describe("graceful close", () => {
  it("a job in flight completes during close, and no new job starts", async () => {
    h = await startHarness("close", { sim: { latencyMs: 600 }, providers: ["openai"] });
    const id = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("Say hello") });
    await expect.poll(async () => (await h!.stats()).total, { timeout: 5_000 }).toBe(1);
    const closing = h.service.close();
    const late = await h.enqueue({ type: "unstructured", model: "gpt-4", prompt: unique("Too late") });
    await closing;
    const record = await h.redis.get(h.keys.result(id));
    expect(JSON.parse(record ?? "{}")).toMatchObject({ status: "completed" });
    expect(await waitForState(h.queue("openai"), id, "completed")).toBe("completed");
    // Not run: still waiting, or handed back (delayed) if BullMQ fetched it while closing.
    expect(["waiting", "delayed"]).toContain(await (await h.queue("openai").getJob(late))?.getState());
    expect(chatCalls(await h.stats())).toBe(1);
  });

  it("a job that outlives the grace period is handed back to the queue without spending an attempt", async () => {
    h = await startHarness("closegrace", { sim: { latencyMs: 5_000 }, providers: ["anthropic"], env: { WORKER_SHUTDOWN_GRACE_MS: "200" } });
    const id = await h.enqueue({ type: "unstructured", model: "claude-2", prompt: unique("Say hello") });
    await expect.poll(async () => (await h!.stats()).total, { timeout: 5_000 }).toBe(1);
    // Handed back, not left: a clean close (test/ops/shutdown-redis-down.int.test.ts has the other kind).
    expect(await h.service.close()).toEqual({ clean: true, left: [] });
    // The provider answers after 5 s; the close did not wait for it, and nothing was stored.
    expect(await h.redis.get(h.keys.result(id))).toBeNull();
    const job = await h.queue("anthropic").getJob(id);
    expect(["delayed", "waiting"]).toContain(await job?.getState());
    expect(job?.attemptsMade).toBe(0);
    expect(h.logs.some((l) => l.outcome === "requeued")).toBe(true);
  });
});

describe("per-provider limits", () => {
  it("a provider's RPM paces its models through the shared capacity buckets, and concurrency is per provider", async () => {
    h = await startHarness("rpm", { env: { GROQ_RPM: "2", WORKER_CONCURRENCY_ANTHROPIC: "7" } });
    expect(h.service.workers.get("anthropic")?.opts.concurrency).toBe(7);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await h.enqueue({ type: "unstructured", model: "llama3-8b-8192", prompt: unique("Say hello") }));
    // 2 per minute with a one-second burst: one request now, the next 30 s later.
    await h.waitForRecord(ids[0] as string);
    await new Promise((r) => setTimeout(r, 500));
    expect(chatCalls(await h.stats())).toBe(1);
    const bucket = await h.redis.hgetall(capacityKey(h.keys, "groq", "llama3-8b-8192"));
    expect(Number(bucket.admitted)).toBe(1);
    expect(Number(bucket.refused)).toBeGreaterThanOrEqual(1);
    // The waiting jobs spent no attempt and hold no slot: they are back in the queue.
    const waiting = await h.queue("groq").getJobs(["wait", "delayed", "prioritized"]);
    expect(waiting.map((j) => j.id).sort()).toEqual([ids[1], ids[2]].sort());
    for (const j of waiting) expect(j.attemptsMade).toBe(0);
  });
});
