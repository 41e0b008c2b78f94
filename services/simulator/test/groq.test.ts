import Groq from "groq-sdk";
import { describe, expect, it } from "vitest";
import { schemaErrors, simStats, startSim, USER_LIST } from "./helpers.js";

// groq-sdk's baseURL is the host: it appends /openai/v1 itself.
function client(url: string): Groq {
  return new Groq({ apiKey: "test", baseURL: url, maxRetries: 0 });
}

describe("Groq chat completions through the official SDK", () => {
  it("answers text with Groq's usage timings and x_groq id", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "llama3-8b-8192",
      messages: [{ role: "user", content: "Write a detailed product description for a smartphone" }],
      max_tokens: 500,
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("llama3-8b-8192");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage?.completion_tokens).toBeGreaterThan(250);
    expect(res.usage?.total_time).toBeGreaterThan(0);
    expect(res.x_groq?.id).toMatch(/^req_/);
    expect((await simStats(url)).by_provider).toEqual({ openai: 0, anthropic: 0, groq: 1 });
  });

  it("answers json_schema and json_object response formats", async () => {
    const { url } = await startSim();
    const groq = client(url);
    const listed = await groq.chat.completions.create({
      model: "llama-3.3-70b-versatile",
      messages: [{ role: "user", content: "Generate a list of 3 user objects" }],
      response_format: { type: "json_schema", json_schema: { name: "users", schema: USER_LIST } },
    });
    const users = JSON.parse(listed.choices[0]?.message.content ?? "") as unknown[];
    expect(users).toHaveLength(3);
    expect(schemaErrors(USER_LIST, users)).toBe("");
    const obj = await groq.chat.completions.create({
      model: "llama-3.1-8b-instant",
      messages: [{ role: "user", content: "Describe a city" }],
      response_format: { type: "json_object" },
    });
    expect(typeof JSON.parse(obj.choices[0]?.message.content ?? "")).toBe("object");
  });

  it("streams chunks whose final chunk carries x_groq usage", async () => {
    const { url } = await startSim();
    const stream = await client(url).chat.completions.create({
      model: "openai/gpt-oss-20b", stream: true,
      messages: [{ role: "user", content: "Tell me about tides." }],
    });
    let text = "";
    let finalUsage: Groq.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.x_groq?.usage) finalUsage = chunk.x_groq.usage;
    }
    expect(finish).toBe("stop");
    expect(finalUsage?.completion_tokens).toBe(Math.ceil(text.length / 4));
  });

  it("lists Groq's models", async () => {
    const { url } = await startSim();
    const list = await client(url).models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["llama3-8b-8192", "llama-3.1-8b-instant", "llama-3.3-70b-versatile", "openai/gpt-oss-20b"]));
    expect((await simStats(url)).by_route).toEqual({ "groq.models": 1 });
  });
});
