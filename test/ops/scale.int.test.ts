import { describe, expect, inject, it } from "vitest";
import { runScaleBench } from "./scale-bench.js";

/**
 * Scaling out: each worker process adds WORKER_CONCURRENCY slots, so two processes drain jobs whose time is
 * spent waiting on the provider about twice as fast as one. The bench (`node test/ops/scale-bench.ts`) prints
 * the issue's figures (300 jobs, SIM_LATENCY_MS=100). This test uses a slower provider (300 ms) so that the
 * workers' own CPU per job (a few ms, which a loaded 2-core machine may not give at once) is small beside
 * the latency, and asserts a bound well under the ideal 2x.
 */
describe("two `npm run start:worker` processes against one simulator process", () => {
  it("drain 200 slow jobs at least 1.5x as fast as one", { timeout: 120_000 }, async () => {
    const result = await runScaleBench({
      jobs: 200,
      concurrency: 10,
      latencyMs: 300,
      workers: [1, 2],
      warmup: 20,
      redisUrl: inject("redisUrl"),
      via: "npm",
      log: (line) => console.log(`[scale] ${line}`),
    });
    console.log(`[scale] ratio ${result.ratio.toFixed(2)}x (ideal 2.00x)`);
    const [one, two] = result.runs;
    // Never faster than the provider allows: the floor is rounds × latency.
    expect(one!.drainMs).toBeGreaterThanOrEqual(one!.floorMs - 50);
    expect(two!.drainMs).toBeGreaterThanOrEqual(two!.floorMs - 50);
    expect(result.ratio).toBeGreaterThanOrEqual(1.5);
  });
});
