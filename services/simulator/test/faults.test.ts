import { describe, expect, it } from "vitest";
import { findMarkers, parseFaults, pickFault, stripMarkers } from "../src/faults.js";
import { inferCount, inferTargetTokens } from "../src/prompt-hints.js";
import { createRng } from "../src/rng.js";
import { breakJson, violateSchema } from "../src/schema-corrupt.js";
import { fakeInstance } from "../src/schema-faker.js";
import { NESTED_USER, schemaErrors, SIMPLE_USER, STRICT_USER, USER_LIST } from "./helpers.js";

describe("fault rates (SIM_FAULTS)", () => {
  it("parses kinds, aliases and a 429's retry-after", () => {
    expect(parseFaults("429:0.2, 500:0.05,529:0.05,hang:0.01,invalid-json:0.02,bad-schema:0.05")).toHaveLength(6);
    expect(parseFaults("timeout:0.1")).toEqual([{ fault: { kind: "hang" }, rate: 0.1 }]);
    expect(parseFaults("429@200ms:0.5")).toEqual([{ fault: { kind: "429", retryAfterMs: 200 }, rate: 0.5 }]);
    expect(parseFaults("429@2s:0.5")[0]?.fault.retryAfterMs).toBe(2000);
    expect(parseFaults("")).toEqual([]);
    expect(parseFaults("400:0,401:0.1,503:1")).toHaveLength(2);
  });

  it("fails fast naming every bad entry", () => {
    expect(() => parseFaults("429:0.2,418:0.1,500:2,hang,constructor:0.1")).toThrow(/"418:0.1".*"500:2".*"hang".*"constructor:0.1"/);
  });

  it("stacks rates so their sum is the total fault rate", () => {
    const rates = parseFaults("429:0.2,500:0.1");
    expect(pickFault(rates, 0.1)?.kind).toBe("429");
    expect(pickFault(rates, 0.25)?.kind).toBe("500");
    expect(pickFault(rates, 0.35)).toBeUndefined();
  });
});

describe("prompt markers", () => {
  it("reads codes, counts, xall and a retry-after, in order", () => {
    const markers = findMarkers("a [[sim:429]] b [[sim:500x3]] [[sim:invalid-jsonxall]] [[sim:429@250msx2]] [[sim:timeout]] [[sim:nope]]");
    expect(markers.map((m) => [m.fault.kind, m.times])).toEqual([["429", 1], ["500", 3], ["invalid-json", Infinity], ["429", 2], ["hang", 1]]);
    expect(markers[3]?.fault.retryAfterMs).toBe(250);
    expect(findMarkers("no markers here")).toEqual([]);
  });

  it("are removed from the text answers are built from", () => {
    expect(stripMarkers("Tell me [[sim:429x2]] about cats")).toBe("Tell me about cats");
  });
});

describe("content faults", () => {
  it("breakJson never returns parseable JSON", () => {
    for (const text of ['{"a":1}', "[1,2,3]", "123", '"str"', "{}", "true", "[]"]) {
      expect(() => JSON.parse(breakJson(text)), text).toThrow();
    }
  });

  it("violateSchema produces a value the schema rejects", () => {
    const schemas = [SIMPLE_USER, NESTED_USER, USER_LIST, STRICT_USER, { type: "array", items: { type: "integer" }, minItems: 1 }, { type: "string", enum: ["a"] }];
    for (const schema of schemas) {
      for (let seed = 1; seed <= 10; seed++) {
        const value = fakeInstance(schema, { rng: createRng(seed) });
        expect(schemaErrors(schema, value)).toBe("");
        const broken = violateSchema(schema, value);
        expect(broken.violated).toBe(true);
        expect(schemaErrors(schema, broken.value), JSON.stringify(broken.value)).not.toBe("");
      }
    }
    expect(violateSchema({}, { any: 1 }).violated).toBe(false);
  });
});

describe("prompt hints", () => {
  it("finds the number of items a prompt asks for", () => {
    expect(inferCount("Generate a list of 5 user objects")).toBe(5);
    expect(inferCount("Give me 3 examples of birds")).toBe(3);
    expect(inferCount("Create seven fictional products")).toBe(7);
    expect(inferCount("Generate 10 user objects")).toBe(10);
    expect(inferCount("Summarize in 50 words")).toBeUndefined();
    expect(inferCount("The user is 25 years old")).toBeUndefined();
    expect(inferCount("Generate a user")).toBeUndefined();
    expect(inferCount("Is 5 is a prime?")).toBeUndefined();
  });

  it("infers an answer length in tokens", () => {
    expect(inferTargetTokens("Write a detailed product description")).toBe(300);
    expect(inferTargetTokens("Tell me about the sea")).toBe(120);
    expect(inferTargetTokens("Briefly, what is rain?")).toBe(50);
    expect(inferTargetTokens("Answer in 60 words")).toBe(80);
    expect(inferTargetTokens("Answer in two sentences")).toBe(40);
  });
});
