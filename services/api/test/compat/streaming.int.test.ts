import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { KEYS, startStack, type Stack } from "../helpers.js";

/**
 * Streams through the queue against a simulator that paces its output: the first pieces reach the client
 * while the provider is still answering (the job has no final record yet), not after the job is done.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack("compat-streaming", { sim: { tokensPerS: 40 } });
});
afterAll(async () => stack?.close());

describe("a streamed answer through the queue", () => {
  it("reaches the openai client piece by piece while the job is still running", async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Tell me about rivers" }], max_tokens: 60, stream: true });
    let recordAtFirstPiece: unknown = "unset";
    let text = "";
    let id = "";
    for await (const chunk of stream) {
      id = chunk.id;
      const piece = chunk.choices[0]?.delta.content ?? "";
      if (piece !== "" && text === "") recordAtFirstPiece = await stack.record(id.slice("chatcmpl-".length));
      text += piece;
    }
    expect(recordAtFirstPiece).toBeNull();
    const record = await stack.record(id.slice("chatcmpl-".length));
    expect(record?.status).toBe("completed");
    expect(text).toBe((record?.result as { output: string }).output);
  });

  it("reaches the anthropic client event by event while the job is still running", async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: KEYS.alice, maxRetries: 0 });
    const stream = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 60, stream: true, messages: [{ role: "user", content: "Tell me about lakes" }] });
    let id = "";
    let recordAtFirstDelta: unknown = "unset";
    let deltas = 0;
    for await (const ev of stream) {
      if (ev.type === "message_start") id = ev.message.id.slice("msg_".length);
      if (ev.type === "content_block_delta" && deltas++ === 0) recordAtFirstDelta = await stack.record(id);
    }
    expect(deltas).toBeGreaterThan(5);
    expect(recordAtFirstDelta).toBeNull();
    expect((await stack.record(id))?.status).toBe("completed");
  });
});
