import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { EMAIL_RE, NAME_RE, schemaErrors, SIMPLE_USER, simStats, startSim, STRICT_USER, USER_LIST } from "./helpers.js";

function client(url: string): OpenAI {
  return new OpenAI({ apiKey: "sk-test", baseURL: `${url}/v1`, maxRetries: 0 });
}

const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: "user", content }];

describe("OpenAI chat completions through the official SDK", () => {
  it("answers free text in OpenAI's response shape with consistent usage", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({ model: "gpt-4o-mini", messages: ask("Tell me about the solar system.") });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("gpt-4o-mini");
    const choice = res.choices[0];
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.message.refusal).toBeNull();
    expect(choice?.finish_reason).toBe("stop");
    const text = choice?.message.content ?? "";
    expect(text.length).toBeGreaterThan(200);
    expect(res.usage?.completion_tokens).toBe(Math.ceil(text.length / 4));
    expect(res.usage?.total_tokens).toBe((res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0));
    expect(res.system_fingerprint).toMatch(/^fp_/);
  });

  it("accepts unknown model ids and echoes them back, with system messages and content parts", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "my-finetune-v3",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: [{ type: "text", text: "Describe the ocean briefly." }] },
      ],
    });
    expect(res.model).toBe("my-finetune-v3");
    expect(res.choices[0]?.message.content).toBeTruthy();
  });

  it("stops at max_tokens with finish_reason length, and sizes answers from the prompt", async () => {
    const { url } = await startSim();
    const openai = client(url);
    const capped = await openai.chat.completions.create({ model: "gpt-4", messages: ask("Write a detailed essay on rivers."), max_tokens: 20 });
    expect(capped.choices[0]?.finish_reason).toBe("length");
    expect(capped.usage?.completion_tokens).toBe(20);
    const detailed = await openai.chat.completions.create({ model: "gpt-4", messages: ask("Write a detailed product description for a smartphone"), max_completion_tokens: 500 });
    const brief = await openai.chat.completions.create({ model: "gpt-4", messages: ask("Briefly describe a smartphone") });
    expect(detailed.choices[0]?.finish_reason).toBe("stop");
    expect(detailed.usage?.completion_tokens).toBeGreaterThan(250);
    expect(brief.usage?.completion_tokens).toBeLessThan(100);
    expect(detailed.choices[0]?.message.content).toContain("smartphone");
  });

  it("returns a JSON object in json_object mode, built from the fields the prompt names", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "gpt-4o",
      messages: ask("Return JSON for a user with name, age and email"),
      response_format: { type: "json_object" },
    });
    const value = JSON.parse(res.choices[0]?.message.content ?? "") as Record<string, unknown>;
    expect(value.name).toMatch(NAME_RE);
    expect(value.email).toMatch(EMAIL_RE);
    expect(Number.isInteger(value.age)).toBe(true);
  });

  it("follows a JSON Schema written into the instructions in json_object mode, as a model would", async () => {
    const { url } = await startSim();
    const schema = { type: "object", properties: { sku: { type: "string" }, tags: { type: "array", items: { type: "string" }, minItems: 3, maxItems: 3 }, stock: { type: "integer", minimum: 1 } }, required: ["sku", "tags", "stock"], additionalProperties: false };
    const res = await client(url).chat.completions.create({
      model: "gpt-3.5-turbo",
      messages: [
        { role: "system", content: `Respond with a single JSON object. It must be valid against this JSON Schema:\n${JSON.stringify(schema)}` },
        { role: "user", content: "Describe a product" },
      ],
      response_format: { type: "json_object" },
    });
    const value = JSON.parse(res.choices[0]?.message.content ?? "") as Record<string, unknown>;
    expect(schemaErrors(schema, value)).toBe("");
    expect(value.tags).toHaveLength(3);
  });

  it("refuses json_object mode when no message mentions JSON, as OpenAI does", async () => {
    const { url } = await startSim();
    const err = await client(url).chat.completions
      .create({ model: "gpt-4o", messages: ask("A user please"), response_format: { type: "json_object" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
  });

  it("answers json_schema (non-strict) with an instance valid against the schema", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "gpt-4",
      messages: ask("Generate a simple user object with name, age, and email"),
      response_format: { type: "json_schema", json_schema: { name: "user", schema: SIMPLE_USER } },
    });
    const value = JSON.parse(res.choices[0]?.message.content ?? "") as Record<string, unknown>;
    expect(schemaErrors(SIMPLE_USER, value)).toBe("");
    expect(value.name).toMatch(NAME_RE);
  });

  it("answers strict json_schema, and refuses a strict schema OpenAI would refuse", async () => {
    const { url } = await startSim();
    const openai = client(url);
    const res = await openai.chat.completions.create({
      model: "gpt-4.1",
      messages: ask("Generate a user"),
      response_format: { type: "json_schema", json_schema: { name: "user", schema: STRICT_USER, strict: true } },
    });
    expect(schemaErrors(STRICT_USER, JSON.parse(res.choices[0]?.message.content ?? ""))).toBe("");
    const err = await openai.chat.completions
      .create({ model: "gpt-4.1", messages: ask("Generate a user"), response_format: { type: "json_schema", json_schema: { name: "user", schema: SIMPLE_USER, strict: true } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(String((err as Error).message)).toMatch(/additionalProperties/);
  });

  it("gives 'a list of 5' exactly five users", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "gpt-4",
      messages: ask("Generate a list of 5 user objects"),
      response_format: { type: "json_schema", json_schema: { name: "users", schema: USER_LIST } },
    });
    const users = JSON.parse(res.choices[0]?.message.content ?? "") as unknown[];
    expect(users).toHaveLength(5);
    expect(schemaErrors(USER_LIST, users)).toBe("");
  });

  it("answers a forced function with tool_calls whose arguments match the parameters", async () => {
    const { url } = await startSim();
    const res = await client(url).chat.completions.create({
      model: "gpt-4o",
      messages: ask("Record this person"),
      tools: [
        { type: "function", function: { name: "noop", parameters: { type: "object", properties: {} } } },
        { type: "function", function: { name: "save_user", parameters: SIMPLE_USER } },
      ],
      tool_choice: { type: "function", function: { name: "save_user" } },
    });
    const message = res.choices[0]?.message;
    expect(message?.content).toBeNull();
    const call = message?.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe("save_user");
    expect(schemaErrors(SIMPLE_USER, JSON.parse(call.function.arguments))).toBe("");
    // OpenAI reports "stop" when the call was forced by name.
    expect(res.choices[0]?.finish_reason).toBe("stop");
  });

  it("streams chat.completion.chunk events ending in usage and [DONE]", async () => {
    const { url } = await startSim();
    const openai = client(url);
    const request = { model: "gpt-4o-mini", messages: ask("Tell me about volcanoes.") };
    const whole = await openai.chat.completions.create(request);
    const stream = await openai.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe("chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(10);
    expect(finish).toBe("stop");
    expect(text.length).toBeGreaterThan(100);
    expect(usage?.completion_tokens).toBe(Math.ceil(text.length / 4));
    expect(usage?.prompt_tokens).toBe(whole.usage?.prompt_tokens);
    expect((await simStats(url)).streams).toBe(1);
  });

  it("works with the SDK's .stream() helper for text and tool calls", async () => {
    const { url } = await startSim();
    const openai = client(url);
    const final = await openai.chat.completions.stream({ model: "gpt-4o", messages: ask("Say something about owls") }).finalChatCompletion();
    expect(final.choices[0]?.message.content).toContain("owls");
    const tool = await openai.chat.completions
      .stream({
        model: "gpt-4o",
        messages: ask("Save a user"),
        tools: [{ type: "function", function: { name: "save_user", parameters: SIMPLE_USER } }],
        tool_choice: { type: "function", function: { name: "save_user" } },
      })
      .finalChatCompletion();
    const call = tool.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(schemaErrors(SIMPLE_USER, JSON.parse(call.function.arguments))).toBe("");
  });

  it("lists models in OpenAI's shape", async () => {
    const { url } = await startSim();
    const ids: string[] = [];
    for await (const model of client(url).models.list()) {
      expect(model.object).toBe("model");
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(["gpt-3.5-turbo", "gpt-4", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini"]));
  });

  it("answers malformed JSON and a missing key in OpenAI's error shape", async () => {
    const { url } = await startSim();
    const bad = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer sk-test", "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: { type: string; message: string; param: unknown; code: unknown } };
    expect(badBody.error.type).toBe("invalid_request_error");
    expect(badBody.error).toHaveProperty("param");
    expect(badBody.error).toHaveProperty("code");
    const anon = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: "{}" });
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { message: string } }).error.message).toMatch(/API key/);
    const stats = await simStats(url);
    expect(stats.by_status).toEqual({ "400": 1, "401": 1 });
  });

  it("refuses max_tokens for reasoning models, which take max_completion_tokens", async () => {
    const { url } = await startSim();
    const openai = client(url);
    await expect(openai.chat.completions.create({ model: "o4-mini", messages: ask("hi"), max_tokens: 10 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const ok = await openai.chat.completions.create({ model: "o4-mini", messages: ask("hi"), max_completion_tokens: 10 });
    expect(ok.usage?.completion_tokens).toBeLessThanOrEqual(10);
  });
});
