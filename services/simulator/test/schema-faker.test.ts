import { describe, expect, it } from "vitest";
import { createRng } from "../src/rng.js";
import { fakeInstance } from "../src/schema-faker.js";
import { EMAIL_RE, NAME_RE, NESTED_USER, schemaErrors, SIMPLE_USER, STRICT_USER, USER_LIST } from "./helpers.js";

function fake(schema: unknown, seed = 1, count?: number): unknown {
  return fakeInstance(schema, { rng: createRng(seed), count });
}

function validFor(schema: object, seeds = 25): unknown[] {
  const out: unknown[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const value = fake(schema, seed);
    expect(schemaErrors(schema, value), JSON.stringify(value)).toBe("");
    out.push(value);
  }
  return out;
}

type Rec = Record<string, unknown>;

describe("schema faker: the guide's schemas", () => {
  it("fills the simple user with a person's name, an adult age and a matching email", () => {
    for (const value of validFor(SIMPLE_USER) as Rec[]) {
      expect(value.name).toMatch(NAME_RE);
      expect(value.age).toBeGreaterThanOrEqual(18);
      expect(value.age).toBeLessThanOrEqual(90);
      expect(value.email).toMatch(EMAIL_RE);
      const first = String(value.name).split(" ")[0]?.toLowerCase() ?? "";
      expect(String(value.email).startsWith(first)).toBe(true);
    }
  });

  it("fills every level of the nested profile", () => {
    for (const value of validFor(NESTED_USER) as Rec[]) {
      const user = value.user as Rec;
      const personal = user.personal as Rec;
      const contact = user.contact as Rec;
      expect(personal.name).toMatch(NAME_RE);
      expect(typeof personal.age).toBe("number");
      expect(contact.email).toMatch(EMAIL_RE);
      expect(contact.phone).toMatch(/^\+?[\d -]{7,}$/);
    }
  });

  it("gives a user list 2-4 items by default and exactly N when asked, each with an address", () => {
    for (const value of validFor(USER_LIST) as unknown[][]) {
      expect(value.length).toBeGreaterThanOrEqual(2);
      expect(value.length).toBeLessThanOrEqual(4);
    }
    const five = fake(USER_LIST, 7, 5) as Rec[];
    expect(five).toHaveLength(5);
    expect(schemaErrors(USER_LIST, five)).toBe("");
    for (const user of five) {
      const address = user.address as Rec;
      expect(address.street).toMatch(/^\d+ [A-Z]/);
      expect(typeof address.city).toBe("string");
      expect(address.zip).toMatch(/^\d{5}$/);
    }
    expect(new Set(five.map((u) => u.name)).size).toBeGreaterThan(1);
  });

  it("applies the count to the root object's only array property, within minItems/maxItems", () => {
    const wrapped = { type: "object", properties: { title: { type: "string" }, users: USER_LIST } };
    expect((fake(wrapped, 3, 6) as Rec).users).toHaveLength(6);
    const bounded = { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3 };
    expect(fake(bounded, 3, 10)).toHaveLength(3);
  });
});

describe("schema faker: JSON Schema coverage", () => {
  it("gives strict-mode optional fields (type [string, null]) real values", () => {
    for (const value of validFor(STRICT_USER) as Rec[]) expect(typeof value.nickname).toBe("string");
  });

  it("honours formats, lengths, patterns, enums and consts", () => {
    const schema = {
      type: "object",
      properties: {
        email: { type: "string", format: "email" },
        born: { type: "string", format: "date" },
        seen: { type: "string", format: "date-time" },
        site: { type: "string", format: "uri" },
        uid: { type: "string", format: "uuid" },
        ip: { type: "string", format: "ipv4" },
        code: { type: "string", pattern: "^[A-Z]{3}-\\d{4}$" },
        zip: { type: "string", pattern: "^\\d{5}(-\\d{4})?$" },
        short: { type: "string", maxLength: 3 },
        long: { type: "string", minLength: 40 },
        color: { enum: ["red", "green", null] },
        kind: { const: "user" },
      },
      required: ["email", "born", "seen", "site", "uid", "ip", "code", "zip", "short", "long", "color", "kind"],
    };
    validFor(schema);
    // Lookaround is beyond the pattern generator: it must still answer with some string.
    expect(typeof fake({ type: "string", pattern: "^(?=a)b$" })).toBe("string");
  });

  it("stays inside numeric bounds, exclusive bounds and multipleOf", () => {
    validFor({
      type: "object",
      properties: {
        age: { type: "integer", minimum: 0, maximum: 10 },
        price: { type: "number", exclusiveMinimum: 100, exclusiveMaximum: 101 },
        step: { type: "integer", multipleOf: 7, minimum: 50, maximum: 80 },
        ratio: { type: "number", minimum: 0, maximum: 1, multipleOf: 0.25 },
        big: { type: "integer", minimum: 1000000 },
      },
      required: ["age", "price", "step", "ratio", "big"],
    });
  });

  it("follows local $refs ($defs and definitions) and bounds recursive ones", () => {
    const tree = {
      $defs: { node: { type: "object", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["name", "children"] } },
      $ref: "#/$defs/node",
    };
    const value = validFor(tree, 10);
    expect(JSON.stringify(value).length).toBeLessThan(200_000);
    validFor({ definitions: { id: { type: "string", format: "uuid" } }, type: "object", properties: { id: { $ref: "#/definitions/id" } }, required: ["id"] });
    validFor({ type: "object", properties: { self: { $ref: "#" }, name: { type: "string" } } }, 5);
    // OpenAI's strict-mode linked list: recursion only ends through the anyOf's null branch.
    const linked = {
      type: "object",
      properties: { head: { $ref: "#/$defs/node" } },
      required: ["head"],
      additionalProperties: false,
      $defs: { node: { type: "object", properties: { value: { type: "number" }, next: { anyOf: [{ $ref: "#/$defs/node" }, { type: "null" }] } }, required: ["value", "next"], additionalProperties: false } },
    };
    validFor(linked);
  });

  it("merges allOf and picks a branch of anyOf/oneOf", () => {
    validFor({
      type: "object",
      properties: {
        both: { allOf: [{ type: "object", properties: { a: { type: "string" } }, required: ["a"] }, { properties: { b: { type: "integer", minimum: 5 } }, required: ["b"] }] },
        either: { anyOf: [{ type: "null" }, { type: "integer", minimum: 3, maximum: 3 }] },
        one: { oneOf: [{ type: "string", format: "email" }, { type: "boolean" }] },
      },
      required: ["both", "either", "one"],
      additionalProperties: false,
    });
  });

  it("fills tuples (prefixItems and draft-07 items arrays) and unique arrays", () => {
    validFor({ type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false });
    validFor({ $schema: "http://json-schema.org/draft-07/schema#", type: "array", items: [{ type: "string" }, { type: "boolean" }], additionalItems: false });
    validFor({ type: "array", items: { enum: ["a", "b", "c"] }, uniqueItems: true, minItems: 2 });
  });

  it("never throws on strange schemas", () => {
    const odd: unknown[] = [
      true, false, null, 42, "string", [], {}, { type: "nonsense" }, { type: [] }, { $ref: "#/nowhere" },
      { $ref: "https://example.com/remote.json" }, { anyOf: [] }, { allOf: [{ type: "string" }, { type: "integer" }] },
      { type: "object", required: ["x"] }, { type: "array", minItems: 5000 }, { type: "string", pattern: "([" },
      { type: "integer", minimum: 10, maximum: 1 }, { properties: { a: { $ref: "#/properties/a" } }, required: ["a"] },
    ];
    for (const schema of odd) expect(() => fake(schema)).not.toThrow();
  });

  it("is deterministic for a seed and varies across seeds", () => {
    expect(fake(USER_LIST, 42)).toEqual(fake(USER_LIST, 42));
    expect(fake(USER_LIST, 42)).not.toEqual(fake(USER_LIST, 43));
  });
});
