import { describe, expect, it } from "vitest";
import { JOB_REQUEST_SCHEMAS, SCHEMA_REGISTRATION_SCHEMA, compileRequestValidator } from "../src/index.js";

describe("request schemas", () => {
  const structured = compileRequestValidator(JOB_REQUEST_SCHEMAS.structured);
  const unstructured = compileRequestValidator(JOB_REQUEST_SCHEMAS.unstructured);
  const conversation = compileRequestValidator(JOB_REQUEST_SCHEMAS.conversation);

  it("accepts the guide's bodies", () => {
    expect(structured({ model: "gpt-4", prompt: "p", schema: { type: "object" } })).toBeUndefined();
    expect(unstructured({ model: "llama3-8b-8192", prompt: "p", max_tokens: 500 })).toBeUndefined();
    expect(conversation({ model: "gpt-4", messages: [{ role: "system", content: "s" }, { role: "user", content: "u" }], max_tokens: 500 })).toBeUndefined();
    expect(compileRequestValidator(SCHEMA_REGISTRATION_SCHEMA)({ name: "user", schema: true })).toBeUndefined();
  });

  it("names unknown fields by path, so a client cannot set job options or provider settings", () => {
    expect(unstructured({ model: "m", prompt: "p", priority: 1, messages_extra: [] })).toEqual([
      { path: "/priority", message: "unknown field" },
      { path: "/messages_extra", message: "unknown field" },
    ]);
    expect(conversation({ model: "m", messages: [{ role: "user", content: "u", name: "x" }] })).toEqual([{ path: "/messages/0/name", message: "unknown field" }]);
  });

  it("asks for exactly one of prompt or messages, and of schema or schema_id, in one line each", () => {
    expect(structured({ model: "m" })).toEqual([
      { path: "", message: "give exactly one of prompt or messages" },
      { path: "", message: "give exactly one of schema or schema_id" },
    ]);
    expect(unstructured({ model: "m", prompt: "p", messages: [{ role: "user", content: "u" }] })).toEqual([{ path: "", message: "give exactly one of prompt or messages" }]);
  });

  it("reports wrong types and values at their paths", () => {
    expect(unstructured({ model: "m", prompt: "p", max_tokens: 0, temperature: "hot" })).toEqual([
      { path: "/max_tokens", message: "must be >= 1" },
      { path: "/temperature", message: "must be number" },
    ]);
    expect(conversation({ model: "m", messages: [{ role: "tool", content: "x" }] })).toEqual([{ path: "/messages/0/role", message: "must be one of system, user, assistant" }]);
    expect(conversation({ messages: [] })).toEqual([
      { path: "/model", message: "is required" },
      { path: "/messages", message: "must NOT have fewer than 1 items" },
    ]);
  });
});
