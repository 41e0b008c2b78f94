import { describe, expect, it } from "vitest";
import { COMPILE_AFTER_SIGHTINGS, DEFAULT_SCHEMA_LIMITS, SchemaGuard, toIssues, type SchemaIssue } from "../src/schema/index.js";
import { GUIDE_SCHEMAS } from "../src/testing/index.js";

type Schema = Record<string, unknown> | boolean;
const D07 = "http://json-schema.org/draft-07/schema#";
const D2020 = "https://json-schema.org/draft/2020-12/schema";

/** Each schema with values that pass and values that fail; the two paths must agree on all of them. */
const CASES: Array<{ name: string; schema: Schema; values: unknown[] }> = [
  { name: "guide simple", schema: GUIDE_SCHEMAS.simple, values: [{ name: "a", age: 3, email: "e" }, {}, { age: 3.5 }, { name: 1 }, [], "x", null] },
  { name: "guide nested", schema: GUIDE_SCHEMAS.nested, values: [{ user: { personal: { name: "a", age: 1 }, contact: { email: "e" } } }, { user: { personal: { age: "x" } } }, { user: 5 }] },
  { name: "guide array", schema: GUIDE_SCHEMAS.array, values: [[], [{ name: "a", age: 1, address: { zip: "1" } }], [{ name: 5 }, { address: { city: 1 } }], {}, [1, "x"]] },
  {
    name: "required, additionalProperties false, nested required",
    schema: { type: "object", properties: { a: { type: "string" }, b: { type: "object", properties: { c: { type: "integer" } }, required: ["c"], additionalProperties: false } }, required: ["a", "b"], additionalProperties: false },
    values: [{ a: "x", b: { c: 1 } }, { a: "x" }, { b: { c: 1, d: 2 } }, { a: "x", b: {}, z: 1, y: 2 }, { a: "x", b: { c: 1.5 } }],
  },
  {
    name: "additionalProperties as a schema, patternProperties",
    schema: { type: "object", properties: { id: { type: "integer" } }, patternProperties: { "^x-": { type: "string" } }, additionalProperties: { type: "number", minimum: 0 } },
    values: [{ id: 1, "x-a": "s", n: 2 }, { "x-a": 1 }, { n: -1 }, { n: "s" }, { id: "1" }],
  },
  {
    name: "formats",
    schema: { type: "object", properties: { when: { type: "string", format: "date-time" }, day: { format: "date" }, mail: { type: "string", format: "email" }, id: { type: "string", format: "uuid" }, site: { type: "string", format: "uri" }, ip: { format: "ipv4" }, n: { type: "integer", format: "int32" } } },
    values: [
      { when: "2024-01-02T03:04:05Z", day: "2024-02-29", mail: "a@b.co", id: "123e4567-e89b-12d3-a456-426614174000", site: "https://x.y/z", ip: "10.0.0.1", n: 5 },
      { when: "2024-01-02 03:04", day: "2023-02-29", mail: "nope", id: "123", site: "not a uri", ip: "999.1.1.1", n: 2 ** 40 },
      { day: 5, ip: null },
    ],
  },
  {
    name: "patterns and string lengths",
    schema: { type: "string", pattern: "^[A-Z]{2}-\\d{3}$", minLength: 6, maxLength: 6 },
    values: ["AB-123", "ab-123", "AB-1234", "A", 5, "😀😀😀😀😀😀"],
  },
  { name: "code points", schema: { type: "string", maxLength: 2 }, values: ["😀😀", "😀😀😀", "abc"] },
  {
    name: "$ref and $defs, recursion",
    schema: { $defs: { node: { type: "object", properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["v"] } }, $ref: "#/$defs/node" },
    values: [{ v: 1, kids: [{ v: 2, kids: [] }] }, { v: 1, kids: [{ kids: [{ v: "x" }] }] }, { kids: 1 }, 7],
  },
  {
    name: "a root $ref to a schema without references",
    schema: { $defs: { p: { type: "object", properties: { x: { type: "string" } }, required: ["x"] } }, $ref: "#/$defs/p" },
    values: [{ x: "a" }, {}, { x: 1 }, []],
  },
  {
    name: "2020-12 $ref beside other keywords",
    schema: { $defs: { s: { type: "string" } }, type: "object", properties: { a: { $ref: "#/$defs/s", minLength: 2 } } },
    values: [{ a: "ab" }, { a: "a" }, { a: 1 }],
  },
  {
    name: "draft-07 definitions and a bare $ref",
    schema: { $schema: D07, definitions: { p: { type: "object", properties: { n: { type: "number" } }, required: ["n"] } }, type: "array", items: { $ref: "#/definitions/p" } },
    values: [[{ n: 1 }], [{}], [{ n: "1" }], {}],
  },
  {
    name: "oneOf and anyOf",
    schema: { type: "object", properties: { v: { oneOf: [{ type: "integer" }, { type: "number", minimum: 10 }] }, w: { anyOf: [{ type: "string" }, { type: "null" }, { const: 3 }] } } },
    values: [{ v: 1, w: "s" }, { v: 12 }, { v: 5.5 }, { v: "s" }, { w: null }, { w: 3 }, { w: 4 }],
  },
  {
    name: "oneOf with two passing branches and failing ones around them",
    schema: { oneOf: [{ type: "integer" }, { type: "string" }, { type: "number", minimum: 10 }, { type: "boolean" }] },
    values: [12, 3, "s", 5.5, null],
  },
  { name: "items false without prefixItems", schema: { type: "array", items: false }, values: [[], [1, 2]] },
  { name: "draft-07 items false", schema: { $schema: D07, type: "array", items: false }, values: [[], [1, 2]] },
  { name: "allOf and not", schema: { allOf: [{ type: "object", required: ["a"] }, { not: { required: ["b"] } }] }, values: [{ a: 1 }, { a: 1, b: 2 }, { b: 1 }, 3] },
  {
    name: "enums and const",
    schema: { type: "object", properties: { c: { enum: ["red", "green", null, 1, { x: [1] }] }, k: { const: { a: [1, 2] } } } },
    values: [{ c: "red", k: { a: [1, 2] } }, { c: null }, { c: { x: [1] } }, { c: "blue" }, { c: { x: [2] } }, { k: { a: [2, 1] } }, { k: { a: [1, 2], b: 1 } }],
  },
  {
    name: "2020-12 prefixItems with items false",
    schema: { $schema: D2020, type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false, minItems: 1 },
    values: [["a", 1], ["a"], [], ["a", 1, 2], [1, "a"]],
  },
  { name: "2020-12 prefixItems with items schema", schema: { type: "array", prefixItems: [{ type: "string" }], items: { type: "boolean" } }, values: [["a", true, false], ["a", 1], [2]] },
  { name: "draft-07 tuple items", schema: { $schema: D07, type: "array", items: [{ type: "string" }, { type: "integer" }] }, values: [["a", 1], ["a", 1, "extra"], [1]] },
  {
    name: "numbers",
    schema: { type: "array", items: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 100, multipleOf: 0.5 }, uniqueItems: true, maxItems: 4 },
    values: [[0.5, 1, 99.5], [0, 100, 0.3], [1, 1], [1, 2, 3, 4, 5], [{ a: 1 }, { a: 1 }], ["s"]],
  },
  { name: "unique items of any type", schema: { type: "array", uniqueItems: true }, values: [[1, "1"], [1, 2, 1], [{ a: [1] }, { a: [1] }], [null, null]] },
  { name: "type lists and null", schema: { type: ["string", "null"], minLength: 1 }, values: ["a", null, "", 1, true] },
  {
    name: "properties counts and boolean subschemas",
    schema: { type: "object", properties: { yes: true, no: false }, minProperties: 1, maxProperties: 2 },
    values: [{ yes: 1 }, {}, { no: 1 }, { a: 1, b: 2, c: 3 }],
  },
  {
    name: "property names that Object.prototype also has",
    schema: { type: "object", properties: { constructor: { type: "string" } }, required: ["toString"] },
    values: [{}, { constructor: "x" }, { toString: 1, constructor: 2 }],
  },
  { name: "a true schema", schema: true, values: [1, null, {}] },
  { name: "a false schema", schema: false, values: [1, null] },
  { name: "a false branch at the root", schema: { anyOf: [false, { type: "integer" }], allOf: [true, false] }, values: [1, "x"] },
  {
    name: "strict-mode nullable optional properties",
    schema: { type: "object", properties: { a: { anyOf: [{ type: "string" }, { type: "null" }] }, b: { type: ["integer", "null"], enum: [1, 2, null] } }, required: ["a", "b"], additionalProperties: false },
    values: [{ a: null, b: null }, { a: "x", b: 2 }, { a: 1, b: 3 }, { b: 1 }],
  },
];

function sorted(issues: SchemaIssue[]): string[] {
  return issues.map((i) => `${i.path} ${i.message}`).sort();
}

describe("schema interpreter", () => {
  it("agrees with ajv's compiled validator, verdicts and issues, on the guide's and tricky schemas", () => {
    for (const { name, schema, values } of CASES) {
      const interpreting = new SchemaGuard();
      // The reference compiler's time budget is not under test here; a loaded machine must not fail the comparison.
      const compiling = new SchemaGuard({ ...DEFAULT_SCHEMA_LIMITS, compileBudgetMs: 60_000 });
      const check = interpreting.outputCheck(schema);
      expect(interpreting.interpretations, `${name} was interpreted`).toBe(1);
      expect(interpreting.compiles, name).toBe(0);
      const compiled = compiling.validator(schema);
      for (const value of values) {
        const expected = compiled(value) === true ? [] : toIssues(compiled.errors ?? []);
        const got = check(value);
        expect(got.length === 0, `${name}: verdict on ${JSON.stringify(value)}`).toBe(expected.length === 0);
        expect(sorted(got), `${name}: issues on ${JSON.stringify(value)}`).toEqual(sorted(expected));
      }
    }
  });

  it("names the failing path and keyword the way the repair prompt expects", () => {
    const guard = new SchemaGuard();
    const bad = guard.validate(GUIDE_SCHEMAS.array, [{ name: 5 }]);
    expect(guard.compiles).toBe(0);
    expect(bad).toEqual({ valid: false, errors: [{ path: "/0/name", message: "must be string" }] });
    const missing = guard.validate({ type: "object", required: ["id"] }, {});
    expect(missing.errors).toEqual([{ path: "#/required", message: "must have required property 'id'" }]);
  });

  it("compiles a schema once it has been seen COMPILE_AFTER_SIGHTINGS times, and not before", () => {
    const guard = new SchemaGuard();
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    for (let i = 1; i < COMPILE_AFTER_SIGHTINGS; i++) expect(guard.validate(schema, { n: 1 }).valid).toBe(true);
    expect(guard.compiles).toBe(0);
    expect(guard.validate(schema, { n: "1" }).errors).toEqual([{ path: "/n", message: "must be integer" }]);
    expect(guard.compiles).toBe(1);
    guard.validate(schema, { n: 1 });
    expect(guard.compiles).toBe(1);
  });

  it("compiles at once what it does not interpret (if/then, anchors), with the same refusals", () => {
    const guard = new SchemaGuard();
    const conditional = { type: "object", if: { required: ["a"] }, then: { required: ["b"] } };
    expect(guard.validate(conditional, { a: 1 }).valid).toBe(false);
    expect(guard.compiles).toBe(1);
    expect(guard.interpretations).toBe(0);
    expect(() => guard.outputCheck({ type: "object", properties: { g: { $ref: "#nowhere" } } })).toThrow(/could not be compiled/);
    // ajv (no $id, nothing registered) cannot resolve "#" below the root: refused as before, not interpreted
    expect(() => guard.outputCheck({ type: "object", properties: { next: { $ref: "#" } } })).toThrow(/could not be compiled/);
    expect(() => guard.outputCheck({ type: "string", pattern: "^(a+)+$" })).toThrow(/not acceptable/);
    expect(() => guard.outputCheck({ type: "object", properties: { c: { enum: [] } } })).toThrow(/could not be compiled/);
  });

  it("hands a $ref loop that consumes nothing to ajv instead of recursing without end", () => {
    const guard = new SchemaGuard();
    const check = guard.outputCheck({ $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" });
    expect(() => check({})).toThrow();
  });
});
