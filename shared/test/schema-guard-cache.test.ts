import { describe, expect, it } from "vitest";
import { SchemaGuard, hashJson } from "@llmq/shared";

describe("SchemaGuard.check remembers schema text that passed", () => {
  it("the same schema checked again gives the same canonical hash, for a different but equal object too", () => {
    const guard = new SchemaGuard();
    const a = guard.check({ type: "object", properties: { b: { type: "string" }, a: { type: "integer" } } });
    const again = guard.check({ type: "object", properties: { b: { type: "string" }, a: { type: "integer" } } });
    expect(again.hash).toBe(a.hash);
    expect(a.hash).toBe(hashJson({ properties: { a: { type: "integer" }, b: { type: "string" } }, type: "object" }));
  });

  it("a refused schema is refused every time (nothing refused is remembered)", () => {
    const guard = new SchemaGuard();
    const bad = { type: "object", properties: { a: { type: "no-such-type" } } };
    expect(() => guard.check(bad)).toThrow(/not a valid JSON Schema/);
    expect(() => guard.check(bad)).toThrow(/not a valid JSON Schema/);
    const deep = { type: "object", properties: { a: { $ref: "#/nowhere" } } };
    expect(() => guard.check(deep)).toThrow();
    expect(() => guard.check(deep)).toThrow();
  });
});
