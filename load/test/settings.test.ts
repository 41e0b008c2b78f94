import { describe, expect, it } from "vitest";
import { pickNames, positiveInt } from "../src/settings.js";

describe("the bench settings", () => {
  it("take a whole number of at least 1, the default when unset or blank, and refuse anything else by name", () => {
    expect(positiveInt(undefined, 7, "X")).toBe(7);
    expect(positiveInt("  ", 7, "X")).toBe(7);
    expect(positiveInt("12", 7, "X")).toBe(12);
    for (const bad of ["0", "-3", "2.5", "abc", "1e400", "NaN"]) {
      expect(() => positiveInt(bad, 7, "CAPACITY_ITEMS")).toThrow(`CAPACITY_ITEMS must be a whole number of at least 1 (got "${bad}")`);
    }
  });

  it("pick known names in the order given, all of them when unset, and refuse an unknown one", () => {
    const known = ["configured", "learned", "fair"] as const;
    expect(pickNames(undefined, known, "S")).toEqual(["configured", "learned", "fair"]);
    expect(pickNames(" , ", known, "S")).toEqual(["configured", "learned", "fair"]);
    expect(pickNames("fair, learned,fair", known, "S")).toEqual(["fair", "learned"]);
    expect(() => pickNames("learned,lerned", known, "CAPACITY_SCENARIOS")).toThrow(
      'CAPACITY_SCENARIOS: unknown "lerned" (it takes configured, learned, fair)',
    );
  });
});
