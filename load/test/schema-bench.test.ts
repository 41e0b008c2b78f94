import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { SchemaGuard } from "@llmq/shared";
import { structuredAnswer, structuredBody } from "../src/structured-body.js";

describe("schema bench bodies", () => {
  it("are the structured bench's request shape, with the tag in every property name, and each answer fits its schema", () => {
    const guard = new SchemaGuard();
    for (const tag of ["a1_t1_r1", "a1_t2_r7"]) {
      const body = JSON.parse(structuredBody(tag)) as { model: string; prompt: string; max_tokens: number; schema: { properties: Record<string, unknown>; required: string[] } };
      expect(body.model).toBe("gpt-4o-mini");
      expect(body.max_tokens).toBe(200);
      expect(Object.keys(body.schema.properties)).toEqual([`name_${tag}`, `age_${tag}`, `tags_${tag}`, `address_${tag}`]);
      expect(body.schema.required).toEqual([`name_${tag}`, `age_${tag}`]);
      const { schema, hash } = guard.check(body.schema);
      expect(guard.outputCheck(schema, hash)(JSON.parse(structuredAnswer(tag)))).toEqual([]);
      // an answer with another request's names does not fit: the required names are this request's own
      expect(guard.outputCheck(schema, hash)(JSON.parse(structuredAnswer("other"))).length).toBeGreaterThan(0);
    }
  });

  it("builds the same body as the wrk script, with a new schema per request and with one repeated", async () => {
    const lua = await readFile(new URL("../wrk/structured_new_schema.lua", import.meta.url), "utf8");
    // The quoted pieces of the script's string.format, joined: the model and the prompt, then the names six times.
    const call = lua.slice(lua.indexOf("string.format("), lua.indexOf("llmq_json_string(model)"));
    const pieces = [...call.matchAll(/'([^']*)'/g)].map((m) => m[1]).join("");
    const tag = "run_t1_r42";
    for (const names of [tag, "repeated"]) {
      const fills = [JSON.stringify("gpt-4o-mini"), JSON.stringify(`Generate user record ${tag} with a name, an age, up to three tags and an address`)];
      let i = 0;
      const fromLua = pieces.replace(/%s/g, () => fills[i++] ?? names);
      expect(i).toBe(8);
      expect(JSON.parse(fromLua)).toEqual(JSON.parse(structuredBody(tag, names)));
    }
  });
});
