import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Anthropic from "@anthropic-ai/sdk";
import { KEYS, startStack, type Stack } from "../helpers.js";

/** The official `@anthropic-ai/sdk` client, pointed at llmq's /v1 by baseURL, against the simulator through the queue. */
let stack: Stack;
let client: Anthropic;

beforeAll(async () => {
  stack = await startStack("compat-anthropic");
  client = new Anthropic({ baseURL: stack.url, apiKey: KEYS.alice, maxRetries: 0 });
});
afterAll(async () => stack?.close());

const weather: Anthropic.Tool = { name: "get_weather", description: "The weather in a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

describe("POST /v1/messages with the @anthropic-ai/sdk client", () => {
  it("answers a message through the queue, for models of every provider", async () => {
    for (const model of ["claude-haiku-4-5", "gpt-4o-mini", "llama-3.1-8b-instant"]) {
      const msg = await client.messages.create({ model, max_tokens: 200, system: "Be brief.", messages: [{ role: "user", content: "Say hello" }] });
      expect(msg.type).toBe("message");
      expect(msg.role).toBe("assistant");
      expect(msg.id).toMatch(/^msg_[0-9a-f-]{36}$/);
      expect(msg.model).toBe(model);
      const text = msg.content[0];
      expect(text?.type).toBe("text");
      expect(text?.type === "text" && text.text.length > 0).toBe(true);
      expect(["end_turn", "max_tokens"]).toContain(msg.stop_reason);
      expect(msg.usage.input_tokens).toBeGreaterThan(0);
      const record = await stack.record(msg.id.slice(4));
      expect(record).toMatchObject({ status: "completed", type: "chat", owner: "alice" });
    }
  });

  it("passes tools through both ways: tool_use out, tool_result back in", async () => {
    for (const model of ["claude-haiku-4-5", "gpt-4o"]) {
      const first = await client.messages.create({ model, max_tokens: 300, tools: [weather], messages: [{ role: "user", content: "Use get_weather for Oslo" }] });
      expect(first.stop_reason).toBe("tool_use");
      const use = first.content.find((b) => b.type === "tool_use");
      if (use?.type !== "tool_use") throw new Error("no tool_use block");
      expect(use.name).toBe("get_weather");
      expect(typeof (use.input as { city?: unknown }).city).toBe("string");
      const second = await client.messages.create({
        model,
        max_tokens: 300,
        tools: [weather],
        messages: [
          { role: "user", content: "What is the weather in Oslo?" },
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "-3°C, snow" }] },
        ],
      });
      expect(second.stop_reason).toBe("end_turn");
      expect(second.content[0]?.type).toBe("text");
    }
  });

  it("forces a tool with tool_choice", async () => {
    const msg = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 300, tools: [weather], tool_choice: { type: "tool", name: "get_weather" }, messages: [{ role: "user", content: "Anything" }] });
    expect(msg.content.some((b) => b.type === "tool_use" && b.name === "get_weather")).toBe(true);
  });

  it("streams in Anthropic's event format, every event in order, and the SDK rebuilds the message", async () => {
    const stream = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 120, stream: true, messages: [{ role: "user", content: "Tell me a story" }] });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    }
    expect(types[0]).toBe("message_start");
    expect(types.filter((t) => t === "content_block_start")).toHaveLength(1);
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(2);
    expect(text.length).toBeGreaterThan(10);

    const helper = client.messages.stream({ model: "gpt-4o-mini", max_tokens: 300, tools: [weather], messages: [{ role: "user", content: "Call get_weather for Rome" }] });
    const final = await helper.finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    const use = final.content.find((b) => b.type === "tool_use");
    expect(use?.type === "tool_use" && use.name).toBe("get_weather");
    expect(use?.type === "tool_use" && typeof (use.input as { city?: unknown }).city).toBe("string");
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it("answers with a schema through output_config, validated by llmq", async () => {
    const schema = { type: "object", properties: { title: { type: "string" }, year: { type: "integer" } }, required: ["title", "year"], additionalProperties: false };
    const msg = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 500, messages: [{ role: "user", content: "A film" }], output_config: { format: { type: "json_schema", schema } } } as Anthropic.MessageCreateParamsNonStreaming);
    const block = msg.content[0];
    const value = JSON.parse(block?.type === "text" ? block.text : "null") as { title?: unknown; year?: unknown };
    expect(typeof value.title).toBe("string");
    expect(Number.isInteger(value.year)).toBe(true);
  });

  it("lists models in Anthropic's shape", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m.type).toBe("model");
      ids.push(m.id);
    }
    expect(ids).toEqual(expect.arrayContaining(["claude-haiku-4-5", "gpt-4o"]));
  });

  it("gives errors in Anthropic's shape, with llmq's code inside", async () => {
    const unknown = await client.messages.create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (unknown as InstanceType<typeof Anthropic.BadRequestError>).error as { type: string; error: { type: string; code: string } };
    expect(body.type).toBe("error");
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "UNKNOWN_MODEL" });

    const bad = new Anthropic({ baseURL: stack.url, apiKey: "wrong", maxRetries: 0 });
    await expect(bad.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);

    const missing = await client.messages.create({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }] } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);

    const failed = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi [[sim:400]]" }] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Anthropic.APIError);
    expect(((failed as InstanceType<typeof Anthropic.APIError>).error as { error: { code: string } }).error.code).toBe("PROVIDER_ERROR");

    const streamFail = await (async () => {
      const s = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hello [[sim:400xall]]" }] });
      for await (const _ of s) void _;
    })().catch((e: unknown) => e);
    expect(streamFail).toBeInstanceOf(Anthropic.APIError);
  });
});
