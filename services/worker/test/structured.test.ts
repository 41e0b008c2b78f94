import { describe, expect, it } from "vitest";
import { SchemaGuard } from "@llmq/shared";
import { fromObjectRoot, parseJsonOutput, planStructured, stripIntroducedNulls, toObjectRoot, toStrictSchema } from "../src/index.js";
import { NESTED_PROFILE, SIMPLE_USER, USER_ARRAY } from "./helpers.js";

describe("strict schema normalisation", () => {
  it("makes the guide's schemas strict: every property required, optional ones nullable, no extra properties", () => {
    const strict = toStrictSchema(NESTED_PROFILE) as Record<string, any>;
    expect(strict).toMatchObject({ type: "object", required: ["user"], additionalProperties: false });
    const user = strict.properties.user;
    expect(user.type).toEqual(["object", "null"]);
    expect(user.required).toEqual(["personal", "contact"]);
    expect(user.additionalProperties).toBe(false);
    expect(user.properties.personal.properties.age.type).toEqual(["integer", "null"]);
  });

  it("keeps required properties non-nullable and makes optional enums accept null", () => {
    const strict = toStrictSchema({
      type: "object",
      properties: { id: { type: "string" }, kind: { type: "string", enum: ["a", "b"] }, ref: { $ref: "#/$defs/x" } },
      required: ["id"],
      $defs: { x: { type: "object", properties: { n: { type: "number" } } } },
    }) as Record<string, any>;
    expect(strict.properties.id).toEqual({ type: "string" });
    expect(strict.properties.kind).toEqual({ type: ["string", "null"], enum: ["a", "b", null] });
    expect(strict.properties.ref).toEqual({ anyOf: [{ $ref: "#/$defs/x" }, { type: "null" }] });
    expect(strict.$defs.x).toMatchObject({ required: ["n"], additionalProperties: false });
  });

  it("drops annotations and constraints strict mode does not take, but gives up on what it cannot express", () => {
    expect(toStrictSchema({ type: "object", title: "t", properties: { s: { type: "string", minLength: 2, default: "x" } } })).toEqual({
      type: "object",
      properties: { s: { type: ["string", "null"] } },
      required: ["s"],
      additionalProperties: false,
    });
    expect(toStrictSchema({ type: "object", properties: { a: { oneOf: [{ type: "string" }, { type: "number" }] } } })).toBeUndefined();
    expect(toStrictSchema({ type: "object", properties: {}, additionalProperties: true })).toBeUndefined();
    expect(toStrictSchema({ type: "object" })).toBeUndefined();
    expect(toStrictSchema({ type: "object", properties: { a: { allOf: [{ type: "string" }] } } })).toBeUndefined();
  });

  it("strips the nulls it introduced, keeping nulls the original schema allows", () => {
    const schema = { type: "object", properties: { a: { type: "string" }, b: { type: ["string", "null"] }, c: { type: "object", properties: { d: { type: "integer" } } } } };
    const answer = { a: null, b: null, c: { d: null } };
    expect(stripIntroducedNulls(answer, schema)).toEqual({ b: null, c: {} });
    expect(new SchemaGuard().validate(schema, answer).valid).toBe(true);
    const list = [{ name: "Ada", age: null, email: null, address: { street: null, city: "X", zip: null } }];
    expect(stripIntroducedNulls(list, USER_ARRAY)).toEqual([{ name: "Ada", address: { city: "X" } }]);
  });
});

describe("object roots", () => {
  it("wraps a non-object root and unwraps the answer", () => {
    const wrapped = toObjectRoot(USER_ARRAY);
    expect(wrapped.key).toBe("items");
    expect(wrapped.schema).toMatchObject({ type: "object", required: ["items"], properties: { items: USER_ARRAY } });
    expect(fromObjectRoot({ items: [1, 2] }, "items")).toEqual([1, 2]);
    expect(toObjectRoot({ type: "string" }).key).toBe("value");
    expect(toObjectRoot(SIMPLE_USER)).toEqual({ schema: SIMPLE_USER, key: undefined });
  });

  it("takes a bare answer or a lone array under another name as the wrapped value", () => {
    expect(fromObjectRoot([1, 2], "items")).toEqual([1, 2]);
    expect(fromObjectRoot({ users: [1, 2] }, "items")).toEqual([1, 2]);
  });

  it("plans each structured mode", () => {
    expect(planStructured("tool", USER_ARRAY)).toMatchObject({ output: { kind: "tool", name: "output" }, wrapKey: "items", strict: false });
    expect(planStructured("json_schema", USER_ARRAY)).toMatchObject({ output: { kind: "json_schema", strict: true }, strict: true });
    const jsonMode = planStructured("json_object", SIMPLE_USER);
    expect(jsonMode.output).toEqual({ kind: "json_object" });
    expect(jsonMode.instructions).toContain(JSON.stringify(SIMPLE_USER));
    expect(jsonMode.instructions).toMatch(/JSON/);
  });
});

describe("parsing the model's JSON", () => {
  it("reads plain JSON, fenced JSON and JSON inside prose", () => {
    expect(parseJsonOutput('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonOutput('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonOutput('Here it is: [1, 2] hope it helps')).toEqual({ ok: true, value: [1, 2] });
  });

  it("reports what is wrong with an answer that is not JSON", () => {
    const res = parseJsonOutput('{"a": 1');
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.errors[0]?.message).toMatch(/not valid JSON/);
    expect(parseJsonOutput("   ").ok).toBe(false);
  });
});
