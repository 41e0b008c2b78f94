import { describe, expect, it } from "vitest";
import { AppError } from "../src/errors/index.js";
import { DEFAULT_SCHEMA_LIMITS, SchemaGuard, hashJson } from "../src/schema/index.js";
import { GUIDE_SCHEMAS } from "../src/testing/index.js";

const userArray = GUIDE_SCHEMAS.array;

function rejection(guard: SchemaGuard, schema: unknown): AppError {
  try {
    guard.check(schema);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error("schema was accepted");
}

function nested(depth: number): Record<string, unknown> {
  let s: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < depth; i++) s = { type: "object", properties: { a: s } };
  return s;
}

describe("schema guard", () => {
  it("accepts the guide's schemas and validates output against them", () => {
    const guard = new SchemaGuard();
    expect(guard.check(userArray).hash).toBe(hashJson(userArray));
    expect(guard.validate(userArray, [{ name: "Ada", age: 36, email: "ada@example.com" }]).valid).toBe(true);
    const bad = guard.validate(userArray, [{ name: 5 }]);
    expect(bad.valid).toBe(false);
    expect(bad.errors).toContainEqual({ path: "/0/name", message: "must be string" });
  });

  it("hashes schemas by content, whatever the key order", () => {
    expect(hashJson({ a: 1, b: { c: 2, d: 3 } })).toBe(hashJson({ b: { d: 3, c: 2 }, a: 1 }));
    expect(hashJson({ a: 1 })).not.toBe(hashJson({ a: 2 }));
    // stored with registered schemas and job payloads: the hash of a schema must never change
    expect(hashJson(userArray)).toBe("8d7e9de1c6ac02d4736166826c2ee98f14941004005fc863ec3e6e9826436787");
    expect(hashJson({ b: [1, "x", null, { "é/~": true, a: undefined }], a: { z: 1.5, y: [] } })).toBe("53a918c86a519296b01b2faae88b4adc5cf45a0fbe737f3b0b19c662aeef9c7c");
  });

  it("refuses invalid and hostile schemas with INVALID_SCHEMA and the offending path", () => {
    const guard = new SchemaGuard();
    const cases: Array<[unknown, string]> = [
      [{ type: "nope" }, "/type"],
      [{ $ref: "https://example.com/s.json" }, "/$ref"],
      [{ properties: { a: { $ref: "#/$defs/missing" } } }, "/properties/a/$ref"],
      [{ type: "string", pattern: "^(a+)+$" }, "/pattern"],
      [{ type: "string", pattern: "(x|xx)*y" }, "/pattern"],
      [{ const: { $data: "1/other" } }, "/const/$data"],
      [nested(40), ""],
      ["a string", ""],
    ];
    for (const [schema, path] of cases) {
      const err = rejection(guard, schema);
      expect(err.code).toBe("INVALID_SCHEMA");
      expect(err.status).toBe(400);
      const paths = ((err.details?.errors ?? []) as Array<{ path: string }>).map((e) => e.path);
      expect(paths.some((p) => p.startsWith(path))).toBe(true);
    }
  });

  it("names each refused node by its exact JSON pointer, escaping ~ and / in keys", () => {
    const guard = new SchemaGuard({ ...DEFAULT_SCHEMA_LIMITS, maxDepth: 6 });
    const paths = (schema: unknown): string[] => ((rejection(guard, schema).details?.errors ?? []) as Array<{ path: string }>).map((e) => e.path);
    expect(paths({ properties: { "a/b": { $ref: "https://example.com/x" }, "c~d": { type: "string", pattern: "^(a+)+$" } } })).toEqual([
      "/properties/a~1b/$ref",
      "/properties/c~0d/pattern",
    ]);
    expect(paths({ anyOf: [{ type: "string" }, { const: { $data: "1/x" } }] })).toEqual(["/anyOf/1/const/$data"]);
    expect(paths({ patternProperties: { "(a|aa)*/x": { type: "string" } } })).toEqual(["/patternProperties/(a|aa)*~1x"]);
    expect(paths({ items: { items: { items: { items: { items: { items: { items: {} } } } } } } })).toEqual(["/items/items/items/items/items/items/items"]);
  });

  it("refuses a schema over the size or node limits before compiling it", () => {
    const guard = new SchemaGuard({ maxBytes: 1000, maxDepth: 32, maxNodes: 50, cacheSize: 10, compileBudgetMs: 250 });
    const wide = { type: "object", properties: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, { type: "string" }])) };
    expect(rejection(guard, wide).message).toMatch(/bytes|nodes/);
    expect(guard.compiles).toBe(0);
  });

  it("rejects a 10,000-level schema at the depth limit instead of recursing through it", () => {
    const guard = new SchemaGuard();
    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      const err = rejection(guard, nested(10_000 + i));
      expect(err.details?.errors).toContainEqual(expect.objectContaining({ message: "nested deeper than 32 levels" }));
    }
    // Printed, not asserted: timings on a shared machine are noise. The assertion above is the property.
    console.log(`200 hostile schemas rejected in ${(performance.now() - started).toFixed(1)} ms`);
    expect(guard.compiles).toBe(0);
  });

  it("keeps compiled validators in a bounded cache and compiles each schema once", () => {
    const guard = new SchemaGuard({ maxBytes: 65536, maxDepth: 32, maxNodes: 5000, cacheSize: 3, compileBudgetMs: 1000 });
    const schemas = Array.from({ length: 10 }, (_, i) => ({ type: "object", properties: { [`f${i}`]: { type: "integer" } }, required: [`f${i}`] }));
    for (const s of schemas) guard.validator(s)({ [Object.keys(s.properties)[0]!]: 1 });
    expect(guard.cacheSize).toBe(3);
    expect(guard.compiles).toBe(10);
    guard.validator(schemas[9]!)({ f9: 1 });
    expect(guard.compiles).toBe(10);
    guard.validator(schemas[0]!)({ f0: 1 });
    expect(guard.compiles).toBe(11);
  });

  it("does not let ajv keep schemas it evicted or failed to compile", () => {
    const guard = new SchemaGuard({ maxBytes: 65536, maxDepth: 32, maxNodes: 5000, cacheSize: 3, compileBudgetMs: 1000 });
    // ajv's own cache is private; it is the memory that would grow with every distinct client schema.
    const ajvCache = (guard as unknown as { draft2020: { _cache: Map<unknown, unknown> } }).draft2020._cache;
    guard.validator({ type: "object" })({});
    const baseline = ajvCache.size;
    for (let i = 0; i < 50; i++) {
      guard.validator({ type: "object", properties: { [`f${i}`]: { type: "integer" } } })({});
      // passes the guard's checks (a plain-name anchor is resolved by ajv) but cannot be compiled
      expect(() => guard.validator({ type: "object", properties: { [`g${i}`]: { $ref: "#nowhere" } } })).toThrow(/could not be compiled/);
    }
    expect(ajvCache.size).toBeLessThanOrEqual(baseline + 3);
  });

  it("lets two schemas with the same $id live side by side", () => {
    const guard = new SchemaGuard();
    const a = { $id: "https://example.com/person", type: "object", properties: { n: { type: "string" } }, required: ["n"] };
    const b = { $id: "https://example.com/person", type: "object", properties: { m: { type: "integer" } }, required: ["m"] };
    expect(guard.validate(a, { n: "x" }).valid).toBe(true);
    expect(guard.validate(b, { m: 1 }).valid).toBe(true);
    expect(guard.validate(b, { n: "x" }).valid).toBe(false);
  });
});
