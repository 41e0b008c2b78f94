import { describe, expect, inject, it } from "vitest";
import { runBatch } from "../src/batch-bench.js";
import { missingBuilds, startStack } from "../src/index.js";

/**
 * The bench's batch row against a private llmq (the built services): the drain ends at the batch's own
 * `finished_at`, counted from the POST, and the poll that saw it comes after.
 */
const missing = missingBuilds();

describe.skipIf(missing.length > 0)("the bench's batch row", () => {
  it("counts the drain from the POST to the batch's finished_at; the polling submitter sees it no earlier", async () => {
    const stack = await startStack({ redisUrl: inject("redisUrl") });
    try {
      const f = await runBatch(stack.apiUrl, stack.apiKey, 200, 60);
      expect(f).toMatchObject({ items: 200, drained: true, drain_end: "finished_at" });
      expect(f.completed + f.failed).toBe(200);
      expect(f.drain_s).toBeGreaterThan(0);
      // Both from the POST: the batch finished before (or as) the poll that saw it.
      expect(f.drain_s).toBeLessThanOrEqual(f.accept_ms / 1000 + f.seen_s + 0.05);
      expect(f.drain_items_per_s).toBeCloseTo(200 / f.drain_s, 6);
    } finally {
      await stack.stop();
    }
  });
});
