import { describe, expect, it } from "vitest";
import { createHeapGrowth, FIXED_HEAP_GROWTH, RELAX_AT, RELAXED_PERCENT, startGrowingPercent, TIGHTEN_AT } from "../src/heap-growth.js";

describe("startGrowingPercent", () => {
  it("reads the flag in each of the forms node takes", () => {
    expect(startGrowingPercent(["--heap-growing-percent=50", "--max-semi-space-size=16"])).toBe(50);
    expect(startGrowingPercent(["--heap_growing_percent=30"])).toBe(30);
    expect(startGrowingPercent(["--heap-growing-percent", "40"])).toBe(40);
    // The last one given wins, as in V8.
    expect(startGrowingPercent(["--heap-growing-percent=50", "--heap-growing-percent=25"])).toBe(25);
  });

  it("is undefined where V8 grows the heap its own way: no flag, 0, or not a number", () => {
    expect(startGrowingPercent([])).toBeUndefined();
    expect(startGrowingPercent(["--max-semi-space-size=16"])).toBeUndefined();
    expect(startGrowingPercent(["--heap-growing-percent=0"])).toBeUndefined();
    expect(startGrowingPercent(["--heap-growing-percent=lots"])).toBeUndefined();
    expect(startGrowingPercent(["--heap-growing-percent"])).toBeUndefined();
  });
});

describe("createHeapGrowth", () => {
  it("relaxes at once, bounds the heap from TIGHTEN_AT calls held, and relaxes again only at RELAX_AT", () => {
    expect(RELAX_AT).toBeLessThan(TIGHTEN_AT);
    const set: string[] = [];
    const heard: string[] = [];
    const growth = createHeapGrowth(50, (flag) => set.push(flag), (mode, held) => heard.push(`${mode} at ${held}`));
    expect(set).toEqual([`--heap-growing-percent=${RELAXED_PERCENT}`]);
    expect(growth.mode).toBe("relaxed");

    for (let i = 1; i < TIGHTEN_AT; i++) growth.enter();
    expect(set).toHaveLength(1);
    growth.enter();
    expect(growth.mode).toBe("bounded");
    expect(set).toEqual([`--heap-growing-percent=${RELAXED_PERCENT}`, "--heap-growing-percent=50"]);

    // Between the thresholds nothing changes, whichever way the count moves.
    for (let i = TIGHTEN_AT; i > RELAX_AT + 1; i--) growth.leave();
    growth.enter();
    growth.leave();
    expect(set).toHaveLength(2);
    expect(growth.mode).toBe("bounded");

    growth.leave();
    expect(growth.mode).toBe("relaxed");
    expect(set).toEqual([`--heap-growing-percent=${RELAXED_PERCENT}`, "--heap-growing-percent=50", `--heap-growing-percent=${RELAXED_PERCENT}`]);
    for (let i = RELAX_AT; i < TIGHTEN_AT - 1; i++) growth.enter();
    expect(set).toHaveLength(3);
    expect(heard).toEqual([`bounded at ${TIGHTEN_AT}`, `relaxed at ${RELAX_AT}`]);
  });

  it("sets nothing for a process started without a bound, or with one no tighter than the relaxed one", () => {
    for (const start of [undefined, RELAXED_PERCENT, RELAXED_PERCENT * 2]) {
      const set: string[] = [];
      const growth = createHeapGrowth(start, (flag) => set.push(flag));
      expect(growth).toBe(FIXED_HEAP_GROWTH);
      for (let i = 0; i < TIGHTEN_AT * 2; i++) growth.enter();
      expect(set).toEqual([]);
    }
  });
});
