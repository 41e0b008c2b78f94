import { describe, expect, it } from "vitest";
import { keepPlaceScore } from "../src/job-runner.js";

describe("a job put back to wait for capacity keeps its place", () => {
  it("goes ahead of every job of its priority added since, behind higher priorities, oldest first", () => {
    const t = 1_796_000_000_000;
    const older = keepPlaceScore(10, t);
    const newer = keepPlaceScore(10, t + 5);
    expect(older).toBeLessThan(newer);
    // BullMQ scores a job added with priority p as p × 2^32 + a counter (>= 0).
    expect(newer).toBeLessThan(10 * 2 ** 32);
    expect(older).toBeGreaterThan(9 * 2 ** 32 + 1_000_000);
    // A fresh key's priority-9 items still go first.
    expect(keepPlaceScore(9, t + 1_000_000)).toBeLessThan(older);
  });
});
