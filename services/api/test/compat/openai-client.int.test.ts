import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { zodResponseFormat, zodFunction } from "openai/helpers/zod";
import { z } from "zod";
import { KEYS, startStack, type Stack } from "../helpers.js";

/** The official `openai` client, pointed at llmq's /v1 by baseURL, against the simulator through the queue. */
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack("compat-openai");
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
});
afterAll(async () => stack?.close());

describe("POST /v1/chat/completions with the openai client", () => {
  it("answers a chat completion through the queue, with a job record behind it", async () => {
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }] });
    expect(res.object).toBe("chat.completion");
    expect(res.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    expect(res.model).toBe("gpt-4o-mini");
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]?.message.role).toBe("assistant");
    expect(typeof res.choices[0]?.message.content).toBe("string");
    expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    const record = await stack.record(res.id.slice("chatcmpl-".length));
    expect(record?.status).toBe("completed");
    expect(record?.type).toBe("chat");
    expect(record?.owner).toBe("alice");
  });

  it("answers in OpenAI's shape for a model of another provider", async () => {
    for (const model of ["claude-haiku-4-5", "llama-3.1-8b-instant"]) {
      const res = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Name a colour" }], max_tokens: 30 });
      expect(res.object).toBe("chat.completion");
      expect(res.model).toBe(model);
      expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    }
    const calls = await stack.simStats();
    expect(calls.by_provider.anthropic).toBeGreaterThan(0);
    expect(calls.by_provider.groq).toBeGreaterThan(0);
  });

  it("runs structured output through the client's zod helpers, validated by llmq", async () => {
    const Person = z.object({ name: z.string(), age: z.number().int(), hobbies: z.array(z.string()) });
    for (const model of ["gpt-4o-mini", "claude-haiku-4-5", "gpt-3.5-turbo"]) {
      const res = await client.chat.completions.parse({ model, messages: [{ role: "user", content: "Invent a person" }], response_format: zodResponseFormat(Person, "person") });
      const parsed = res.choices[0]?.message.parsed;
      expect(Person.safeParse(parsed).success).toBe(true);
      const record = await stack.record(res.id.slice("chatcmpl-".length));
      expect(record?.result?.output).toEqual(parsed);
    }
  });

  it("answers json_object requests with a JSON object", async () => {
    const res = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Give me a JSON object describing a cat" }], response_format: { type: "json_object" } });
    const value: unknown = JSON.parse(res.choices[0]?.message.content ?? "");
    expect(typeof value).toBe("object");
    expect(Array.isArray(value)).toBe(false);
  });

  it("passes tools through: a tool call comes back, and the tool's answer gets a text reply", async () => {
    const tools = [zodFunction({ name: "get_weather", parameters: z.object({ city: z.string() }) })];
    for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
      const first = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Use get_weather for Paris" }], tools, tool_choice: "auto" });
      const msg = first.choices[0]?.message;
      expect(first.choices[0]?.finish_reason).toBe("tool_calls");
      const call = msg?.tool_calls?.[0];
      expect(call?.type).toBe("function");
      if (call?.type !== "function") throw new Error("no function call");
      expect(call.function.name).toBe("get_weather");
      expect(typeof JSON.parse(call.function.arguments).city).toBe("string");
      const second = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "What is the weather in Paris?" }, { role: "assistant", content: null, tool_calls: msg?.tool_calls ?? [] }, { role: "tool", tool_call_id: call.id, content: "18°C and sunny" }],
        tools,
      });
      expect(second.choices[0]?.finish_reason).toBe("stop");
      expect(second.choices[0]?.message.content?.length).toBeGreaterThan(0);
    }
  });

  it("streams every chunk in order, then the finish reason, the usage and the end", async () => {
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Tell me a short story" }], max_tokens: 80, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(3);
    const id = chunks[0]?.id ?? "";
    expect(chunks.every((c) => c.id === id && c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes).toHaveLength(1);
    expect(finishes[0]?.choices[0]?.finish_reason).toMatch(/stop|length/);
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    // The streamed text is the job's answer, piece for piece.
    const record = await stack.record(id.slice("chatcmpl-".length));
    expect(text).toBe((record?.result as { output?: string }).output);
    expect(text.length).toBeGreaterThan(10);
    // It came through the job's Redis Stream, in several pieces.
    expect(await stack.redis.xlen(stack.keys.stream(record?.id ?? ""))).toBeGreaterThan(1);
  });

  it("streams through the client's stream helper, tool calls included", async () => {
    const runner = client.chat.completions.stream({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "Call lookup_order for order 42" }], tools: [{ type: "function", function: { name: "lookup_order", parameters: { type: "object", properties: { order: { type: "integer" } }, required: ["order"] } } }] });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    if (call?.type !== "function") throw new Error("no function call");
    expect(call.function.name).toBe("lookup_order");
    expect(Number.isInteger(JSON.parse(call.function.arguments).order)).toBe(true);
    const record = await stack.record(final.id.slice("chatcmpl-".length));
    expect(record?.result && "message" in record.result ? record.result.message : undefined).toMatchObject({ tool_calls: [{ name: "lookup_order", arguments: call.function.arguments }] });
  });

  it("retrieves a finished completion by id, and resumes its stream after Last-Event-ID", async () => {
    const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Describe the sea" }], max_tokens: 60, stream: true });
    const ids: string[] = [];
    let id = "";
    for await (const chunk of stream) id = chunk.id;
    const got = await client.chat.completions.retrieve(id);
    expect(got.id).toBe(id);
    const whole = got.choices[0]?.message.content ?? "";
    // Resume by hand: the first entry's id, then everything after it.
    const entries = (await stack.redis.xrange(stack.keys.stream(id.slice(9)), "-", "+")) as [string, string[]][];
    for (const [entryId] of entries) ids.push(entryId);
    expect(ids.length).toBeGreaterThan(1);
    const res = await fetch(`${stack.url}/v1/chat/completions/${id}`, { headers: { authorization: `Bearer ${KEYS.alice}`, accept: "text/event-stream", "last-event-id": ids[0] ?? "" } });
    const body = await res.text();
    const pieces = body.split("\n\n").filter((e) => e.includes("data: {")).map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)) as OpenAI.Chat.Completions.ChatCompletionChunk);
    const resumed = pieces.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const firstPiece = entries[0]?.[1][entries[0][1].indexOf("t") + 1] ?? "";
    expect(firstPiece + resumed).toBe(whole);
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("lists and retrieves models of every provider", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4", "claude-haiku-4-5", "llama-3.1-8b-instant"]));
    const m = await client.models.retrieve("claude-haiku-4-5");
    expect(m).toMatchObject({ id: "claude-haiku-4-5", object: "model", owned_by: "anthropic" });
    await expect(client.models.retrieve("no-such-model")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("gives errors in OpenAI's shape, with llmq's code inside", async () => {
    const unknown = await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknown as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("UNKNOWN_MODEL");
    expect((unknown as InstanceType<typeof OpenAI.BadRequestError>).type).toBe("invalid_request_error");

    const bad = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    const extra = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], bogus_field: 1 } as never).catch((e: unknown) => e);
    expect(extra).toBeInstanceOf(OpenAI.BadRequestError);
    expect((extra as Error).message).toMatch(/bogus_field/);

    const image = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.invalid/a.png" } }] }] }).catch((e: unknown) => e);
    expect(image).toBeInstanceOf(OpenAI.BadRequestError);
    expect((image as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages.0.content.0");

    const failed = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi [[sim:400]]" }] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).code).toBe("PROVIDER_ERROR");
  });

  it("holds ownership: another key cannot read a completion", async () => {
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 10 });
    const bob = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.bob, maxRetries: 0 });
    await expect(bob.chat.completions.retrieve(res.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
