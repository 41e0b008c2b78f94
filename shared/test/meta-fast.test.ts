import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { surelyValidSchema } from "../src/schema/meta-fast.js";
import { SchemaGuard } from "../src/schema/schema-guard.js";

/**
 * The fast meta-check may only ever skip ajv where ajv says yes: on generated schemas, whenever it vouches for
 * one, ajv's meta-validation under draft 2020-12 and draft-07 agrees. It must also vouch for the common shapes,
 * or it saves nothing.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const opts = { strict: false, allErrors: true, ownProperties: true, $data: false, validateSchema: false, addUsedSchema: false } as const;
const ajv2020 = addFormats(new Ajv2020(opts) as unknown as Ajv);
const ajv07 = addFormats(new Ajv(opts));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "type", "properties", "$defs", "definitions", "required", "items", "additionalProperties", "not", "contains", "propertyNames",
  "allOf", "anyOf", "oneOf", "enum", "const", "default", "examples", "title", "description", "format", "$comment", "minimum",
  "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
  "minProperties", "maxProperties", "uniqueItems", "readOnly", "writeOnly",
  // not vouched for: each must send the schema to ajv
  "pattern", "$ref", "prefixItems", "dependentRequired", "nullable", "x-extra", "__proto__", "if", "deprecated",
];

function generate(next: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const value = (): unknown => {
    switch (Math.floor(next() * 14)) {
      case 0: return pick(["string", "integer", "object", "array", "number", "boolean", "null", "int", ""]);
      case 1: return pick([0, 1, 3, -1, 2.5, 1e9, -0.5]);
      case 2: return next() < 0.5;
      case 3: return null;
      case 4: return pick([["a", "b"], ["a", "a"], [], ["string", "null"], ["string", "string"], [1, 2], ["integer"]]);
      case 5: return {};
      case 6: return [];
      case 7: return "text";
      case 8: return [generate(next, depth + 1), generate(next, depth + 1)];
      case 9: return { a: generate(next, depth + 1), b: generate(next, depth + 1) };
      case 10: return { a: pick([1, "x", null, [], true]) };
      default: return generate(next, depth + 1);
    }
  };
  if (depth > 3 || next() < 0.1) return next() < 0.5 ? { type: pick(["string", "integer", "number"]) } : next() < 0.5;
  const out: Record<string, unknown> = {};
  const n = Math.floor(next() * 4);
  for (let i = 0; i < n; i++) {
    const key = pick(KEYS);
    if (key === "__proto__") Object.defineProperty(out, key, { value: value(), enumerable: true, configurable: true, writable: true });
    else out[key] = value();
  }
  return out;
}

describe("surelyValidSchema", () => {
  it("never vouches for a schema ajv's meta-validation refuses (20,000 generated schemas)", () => {
    const next = rng(20261130);
    let vouched = 0;
    let refusedByAjv = 0;
    for (let i = 0; i < 20_000; i++) {
      // Through JSON, as a client's schema arrives.
      const schema = JSON.parse(JSON.stringify(generate(next, 0))) as unknown;
      const ok2020 = ajv2020.validateSchema(schema as object) === true;
      const ok07 = ajv07.validateSchema(schema as object) === true;
      if (!ok2020 || !ok07) refusedByAjv++;
      if (surelyValidSchema(schema)) {
        vouched++;
        if (!ok2020 || !ok07) expect.fail(`vouched for a schema ajv refuses: ${JSON.stringify(schema)}`);
      }
    }
    // The generator must exercise both sides.
    expect(vouched).toBeGreaterThan(2_000);
    expect(refusedByAjv).toBeGreaterThan(2_000);
  });

  it("vouches for the guide's structured test cases and the bench's schemas", () => {
    const cases = JSON.parse(readFileSync(new URL("../../load/structured_test_cases.json", import.meta.url), "utf8")) as unknown;
    const schemas: unknown[] = [];
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v !== null && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) if (k === "schema") schemas.push(x);
        else collect(x);
      }
    };
    collect(cases);
    expect(schemas.length).toBeGreaterThan(0);
    for (const s of schemas) expect(surelyValidSchema(s), JSON.stringify(s)).toBe(true);
    const bench = { type: "object", properties: { name_x: { type: "string" }, age_x: { type: "integer", minimum: 0, maximum: 130 }, tags_x: { type: "array", items: { type: "string" }, maxItems: 3 }, address_x: { type: "object", properties: { city: { type: "string" }, zip: { type: "string" } }, required: ["city"] } }, required: ["name_x", "age_x"] };
    expect(surelyValidSchema(bench)).toBe(true);
  });

  it("leaves the guard's verdicts unchanged: an invalid schema is still refused with ajv's issues", () => {
    const guard = new SchemaGuard();
    expect(() => guard.check({ type: "object", properties: { a: { type: "strin" } } })).toThrow(/not a valid JSON Schema/);
    expect(() => guard.check({ type: "object", required: ["a", "a"] })).toThrow(/not a valid JSON Schema/);
    expect(() => guard.check({ type: "array", minItems: -1 })).toThrow(/not a valid JSON Schema/);
    expect(guard.check({ type: "object", properties: { a: { type: "string", pattern: "^a+$" } } }).hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
