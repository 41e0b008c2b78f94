import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testPrefix } from "@llmq/shared/testing";
import { createSimulator, type Simulator } from "../../services/simulator/src/index.js";
import { runPlainDrain } from "../src/baseline/baseline-stack.js";

/**
 * The bench's comparator for the batch row, run as the bench runs it (its own process, the built
 * load/dist/baseline/plain-drain.js): the warm-up items drain first and are left out of the figures, and the
 * measured items all reach the provider and finish.
 */
let sim: Simulator;
let simUrl: string;
beforeAll(async () => {
  sim = createSimulator();
  simUrl = (await sim.listen(0, "127.0.0.1")).url;
});
afterAll(async () => {
  await sim.close();
});

describe("the plain BullMQ drain", () => {
  it("drains its warm-up items first, unmeasured, then the measured ones", async () => {
    const f = await runPlainDrain({ redisUrl: inject("redisUrl"), simulatorUrl: simUrl, prefix: testPrefix("plain-drain"), concurrency: 8, items: 40, warmupItems: 15, timeoutS: 60 });
    expect(f).toMatchObject({ items: 40, warmup_items: 15, completed: 40, failed: 0, drained: true });
    expect(f.jobs_per_s).toBeGreaterThan(0);
    expect(f.cpu_ms).toBeGreaterThan(0);
    // Every item of both phases was one call to the provider.
    expect(sim.stats().by_route["openai.chat_completions"]).toBe(55);
  });
});
