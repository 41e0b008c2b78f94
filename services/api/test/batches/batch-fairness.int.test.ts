import { afterEach, describe, expect, it } from "vitest";
import type { BatchView } from "@llmq/shared";
import { startBatchHarness, type BatchHarness } from "./harness.js";

/**
 * Under a provider limit, capacity is shared between the API keys with batches waiting: a large batch from
 * one key does not hold back a small one from another, and interactive requests still go first.
 */
let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MODEL = "gpt-4o-mini";
// 40 requests a second for this model, on both sides: the simulator enforces it, llmq is told it.
const LIMITS = { SIM: { [MODEL]: { rpm: 2_400, tpm: 240_000 } }, ENV: { OPENAI_RPM: "2400", OPENAI_TPM: "240000" } };

function items(n: number, tag: string): Array<{ custom_id: string; type: string; body: Record<string, unknown> }> {
  return Array.from({ length: n }, (_, i) => ({ custom_id: `${tag}-${i}`, type: "unstructured", body: { model: MODEL, prompt: `Say hello to ${tag} ${i}`, max_tokens: 50 } }));
}

describe("fair shares between keys under a provider limit", () => {
  it("a 20-item batch submitted with another key's 200-item batch finishes first, and a sync request still answers 200", async () => {
    h = await startBatchHarness("batch-fair", { sim: { limits: LIMITS.SIM }, env: LIMITS.ENV });
    // Alice's batch is the older one: oldest-first feeding would run all of it before bob's.
    const big = await h.submit(items(200, "alice"), { as: "alice" });
    const small = await h.submit(items(20, "bob"), { as: "bob" });
    expect(big.status).toBe(202);
    expect(small.status).toBe(202);
    const bigId = (big.body as { id: string }).id;
    const smallId = (small.body as { id: string }).id;

    const sync = h.stack.request("/api/v1/unstructured?wait=20", { as: "alice", body: { model: MODEL, prompt: "An interactive request while both batches drain", max_tokens: 50 } });
    let bigWhenSmallDone: BatchView | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const s = (await h.stack.request(`/api/v1/batches/${smallId}`, { as: "bob" })).body as BatchView;
      if (s.finished_at !== undefined) {
        bigWhenSmallDone = await h.view(bigId, "alice");
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(bigWhenSmallDone, "the small batch never finished").toBeDefined();
    const b = (bigWhenSmallDone as BatchView).counts;
    // At an equal share, bob's 20 items are done when alice has had about 20 (plus what was queued first).
    expect(b.completed).toBeLessThan(100);
    const final = await h.waitFinal(bigId, 60_000);
    expect(final.final.counts.completed).toBe(200);
    const r = await sync;
    expect(r.status, r.text).toBe(200);
    const stats = (await (await fetch(`${h.stack.simUrl}/__sim/stats`)).json()) as { limits: Record<string, { rate_limited: number; admitted: number }> };
    expect(stats.limits[`openai:${MODEL}`]?.rate_limited ?? 0).toBeLessThanOrEqual(2);

    // Operators see the model's buckets on health.
    const health = (await h.stack.request("/api/v1/health", { as: "alice" })).body as { providers: Record<string, { models: Array<{ model: string; admitted: number; buckets: Array<{ limit: string; per_minute: number; source: string }> }> }> };
    const view = health.providers.openai?.models.find((m) => m.model === MODEL);
    expect(view?.admitted).toBeGreaterThanOrEqual(221);
    expect(view?.buckets).toEqual(expect.arrayContaining([
      expect.objectContaining({ limit: "requests", per_minute: 2_400, source: "configured" }),
      expect.objectContaining({ limit: "tokens", per_minute: 240_000, source: "configured" }),
    ]));
  }, 90_000);
});
