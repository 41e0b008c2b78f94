import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { NAME_RE, NESTED_USER, schemaErrors, SIMPLE_USER, simStats, startSim } from "./helpers.js";

function client(url: string): Anthropic {
  return new Anthropic({ apiKey: "test", baseURL: url, maxRetries: 0 });
}

const SAVE_USER_TOOL = { name: "save_user", description: "Store a user", input_schema: SIMPLE_USER } as const;

describe("Anthropic messages through the official SDK", () => {
  it("answers text in Anthropic's message shape, reading system blocks and content blocks", async () => {
    const { url } = await startSim();
    const msg = await client(url).messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 1024,
      system: [{ type: "text", text: "You are a geologist." }],
      messages: [{ role: "user", content: [{ type: "text", text: "Explain volcanoes." }] }],
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.model).toBe("claude-haiku-4-5");
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.stop_sequence).toBeNull();
    const block = msg.content[0];
    if (block?.type !== "text") throw new Error("expected a text block");
    expect(block.text).toContain("volcanoes");
    expect(msg.usage.output_tokens).toBe(Math.ceil(block.text.length / 4));
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
  });

  it("stops with max_tokens when the answer is longer than allowed", async () => {
    const { url } = await startSim();
    const msg = await client(url).messages.create({ model: "claude-2", max_tokens: 10, messages: [{ role: "user", content: "Write a detailed history of Rome" }] });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(10);
  });

  it("answers a forced tool with a tool_use block whose input matches input_schema", async () => {
    const { url } = await startSim();
    const msg = await client(url).messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 1024,
      messages: [{ role: "user", content: "Generate a complex user profile with nested objects" }],
      tools: [SAVE_USER_TOOL, { name: "save_profile", input_schema: NESTED_USER }],
      tool_choice: { type: "tool", name: "save_profile" },
    });
    expect(msg.stop_reason).toBe("tool_use");
    const block = msg.content[0];
    if (block?.type !== "tool_use") throw new Error("expected a tool_use block");
    expect(block.id).toMatch(/^toolu_/);
    expect(block.name).toBe("save_profile");
    expect(schemaErrors(NESTED_USER, block.input)).toBe("");
    const personal = (block.input as { user: { personal: { name: string } } }).user.personal;
    expect(personal.name).toMatch(NAME_RE);
  });

  it("answers output_config json_schema with JSON text valid against the schema", async () => {
    const { url } = await startSim();
    const res = await fetch(`${url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "test", "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({
        model: "claude-haiku-4-5", max_tokens: 512, messages: [{ role: "user", content: "A user" }],
        output_config: { format: { type: "json_schema", schema: SIMPLE_USER } },
      }),
    });
    const msg = (await res.json()) as { content: Array<{ type: string; text: string }> };
    expect(schemaErrors(SIMPLE_USER, JSON.parse(msg.content[0]?.text ?? ""))).toBe("");
  });

  it("streams Anthropic's event sequence for text", async () => {
    const { url } = await startSim();
    const stream = await client(url).messages.create({
      model: "claude-3-5-haiku-latest", max_tokens: 1024, stream: true,
      messages: [{ role: "user", content: "Tell me about glaciers." }],
    });
    const types: string[] = [];
    let text = "";
    let outputTokens = 0;
    let stop: string | null = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      if (event.type === "message_delta") { outputTokens = event.usage.output_tokens; stop = event.delta.stop_reason; }
    }
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.at(-3)).toBe("content_block_stop");
    expect(types.at(-2)).toBe("message_delta");
    expect(types.at(-1)).toBe("message_stop");
    expect(stop).toBe("end_turn");
    expect(outputTokens).toBe(Math.ceil(text.length / 4));
  });

  it("streams a forced tool as input_json_delta that the SDK's stream helper assembles", async () => {
    const { url } = await startSim();
    const final = await client(url)
      .messages.stream({
        model: "claude-opus-4-1", max_tokens: 1024,
        messages: [{ role: "user", content: "Save a user" }],
        tools: [SAVE_USER_TOOL], tool_choice: { type: "tool", name: "save_user" },
      })
      .finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    const block = final.content[0];
    if (block?.type !== "tool_use") throw new Error("expected a tool_use block");
    expect(schemaErrors(SIMPLE_USER, block.input)).toBe("");
  });

  it("lists models in Anthropic's shape", async () => {
    const { url } = await startSim();
    const ids: string[] = [];
    for await (const model of client(url).models.list()) {
      expect(model.type).toBe("model");
      expect(model.display_name).toBeTruthy();
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(["claude-2", "claude-3-5-haiku-latest", "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]));
    expect((await simStats(url)).by_route).toEqual({ "anthropic.models": 1 });
  });

  it("refuses a request without max_tokens with an invalid_request_error", async () => {
    const { url } = await startSim();
    const err = await client(url)
      .messages.create({ model: "claude-2", messages: [{ role: "user", content: "hi" }] } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as InstanceType<typeof Anthropic.BadRequestError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/max_tokens/);
  });

  it("answers a missing key and malformed JSON in Anthropic's error shape", async () => {
    const { url } = await startSim();
    const headers = { "anthropic-version": "2023-06-01", "content-type": "application/json" };
    const anon = await fetch(`${url}/v1/messages`, { method: "POST", headers, body: "{}" });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const bad = await fetch(`${url}/v1/messages`, { method: "POST", headers: { ...headers, "x-api-key": "k" }, body: "{oops" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});
