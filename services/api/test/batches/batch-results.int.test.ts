import { afterEach, describe, expect, it } from "vitest";
import { batchKeySet, batchResultLine } from "@llmq/shared";
import { BatchStore } from "../../src/batches/index.js";
import { KEYS } from "../helpers.js";
import { startBatchHarness, type BatchHarness } from "./harness.js";

let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A finished batch of `n` result lines of about 1 KB each, written straight to Redis (no jobs run). */
async function bigFinishedBatch(harness: BatchHarness, n: number): Promise<string> {
  const id = `batch_${"cd".repeat(16)}`;
  await new BatchStore(harness.stack.redis, harness.stack.keys).create({ id, owner: "alice", createdAt: Date.now(), total: n, metadata: undefined, entries: {}, types: "" });
  const pad = "x".repeat(900);
  for (let i = 0; i < n; i += 1000) {
    const lines = Array.from({ length: Math.min(1000, n - i) }, (_, k) =>
      batchResultLine({ status: (i + k) % 10 === 0 ? "failed" : "completed", custom_id: `c${i + k}`, job_id: `${id}-${i + k}`, ...((i + k) % 10 === 0 ? { error: { code: "PROVIDER_ERROR", message: pad } } : { result: { pad } as never }) }),
    );
    await harness.stack.redis.rpush(batchKeySet(harness.stack.keys, id).results, ...lines);
  }
  return id;
}

/**
 * Counts the LRANGEs the API sends for a key. The API's own Redis connection is wrapped (every call still goes
 * to the real Redis): MONITOR would see every client of a shared Redis and choke under another run's load.
 */
async function lrangeCounter(harness: BatchHarness, key: string): Promise<{ count(): number; stop(): void }> {
  const redis = harness.stack.runtime.deps.redis;
  const original = redis.lrange;
  let n = 0;
  redis.lrange = function (this: typeof redis, ...args: Parameters<typeof original>) {
    if (args[0] === key) n++;
    return original.apply(this, args);
  } as typeof original;
  return { count: () => n, stop: () => void (redis.lrange = original) };
}

describe("GET /api/v1/batches/{id}/results streams", () => {
  it("a 20,000-line result arrives as a stream: the API reads Redis only as fast as the client reads the socket", async () => {
    h = await startBatchHarness("batch-stream", { workers: 0 });
    const n = 20_000;
    const id = await bigFinishedBatch(h, n);
    const lranges = await lrangeCounter(h, batchKeySet(h.stack.keys, id).results);
    const res = await fetch(`${h.stack.url}/api/v1/batches/${id}/results`, { headers: { "x-api-key": KEYS.alice } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // The client stops reading: once the socket's buffers are full the API stops reading Redis.
    await new Promise((r) => setTimeout(r, 500));
    const whilePaused = lranges.count();
    expect(whilePaused).toBeLessThan(n / 500);
    let bytes = first.value!.length;
    const decoder = new TextDecoder();
    let text = decoder.decode(first.value, { stream: true });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      text += decoder.decode(value, { stream: true });
    }
    const lines = text.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).size).toBe(n);
    expect(lranges.count()).toBe(n / 500 + 1);
    expect(bytes).toBeGreaterThan(n * 900);
    console.log(`results stream: ${n} lines, ${(bytes / 1e6).toFixed(1)} MB; ${whilePaused} of ${n / 500 + 1} chunks read from Redis while the client paused`);
    lranges.stop();
  });

  it("a client that goes away mid-stream stops the reading; ?status=failed streams only the failed lines", async () => {
    h = await startBatchHarness("batch-stream-abort", { workers: 0 });
    const n = 20_000;
    const id = await bigFinishedBatch(h, n);
    const lranges = await lrangeCounter(h, batchKeySet(h.stack.keys, id).results);
    const ac = new AbortController();
    const res = await fetch(`${h.stack.url}/api/v1/batches/${id}/results`, { headers: { "x-api-key": KEYS.alice }, signal: ac.signal });
    await res.body!.getReader().read();
    ac.abort();
    await new Promise((r) => setTimeout(r, 300));
    const atAbort = lranges.count();
    await new Promise((r) => setTimeout(r, 300));
    expect(lranges.count()).toBe(atAbort);
    expect(atAbort).toBeLessThan(n / 500);
    lranges.stop();

    const failed = await h.results(id, "failed");
    expect(failed).toHaveLength(n / 10);
    expect(failed.every((l) => l.status === "failed" && l.error?.code === "PROVIDER_ERROR")).toBe(true);
  });
});
