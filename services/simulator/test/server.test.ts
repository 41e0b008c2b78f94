import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createSimulator } from "../src/index.js";
import { simStats, startSim } from "./helpers.js";

const CHAT = { model: "gpt-4", messages: [{ role: "user", content: "Tell me about the solar system." }] };

async function post(url: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer k", "x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe("determinism", () => {
  it("answers the same request with a byte-identical body, ids included", async () => {
    const { url } = await startSim();
    for (const [path, body] of [
      ["/v1/chat/completions", CHAT],
      ["/openai/v1/chat/completions", { ...CHAT, model: "llama3-8b-8192" }],
      ["/v1/messages", { ...CHAT, model: "claude-2", max_tokens: 300 }],
    ] as const) {
      const a = await post(url, path, body);
      const b = await post(url, path, body);
      expect(a.status).toBe(200);
      expect(b.text).toBe(a.text);
    }
  });

  it("varies the answer with the prompt and with the seed", async () => {
    const { url } = await startSim();
    const { url: other } = await startSim({ seed: "another-seed" });
    const content = (text: string): string => (JSON.parse(text) as OpenAI.ChatCompletion).choices[0]?.message.content ?? "";
    const base = content((await post(url, "/v1/chat/completions", CHAT)).text);
    const otherPrompt = content((await post(url, "/v1/chat/completions", { ...CHAT, messages: [{ role: "user", content: "Tell me about the oceans." }] })).text);
    const otherSeed = content((await post(other, "/v1/chat/completions", CHAT)).text);
    expect(otherPrompt).not.toBe(base);
    expect(otherSeed).not.toBe(base);
  });
});

describe("latency and pacing", () => {
  it("waits latencyMs before answering, and before a stream's first event", async () => {
    const { url } = await startSim({ latencyMs: 150 });
    const client = new OpenAI({ apiKey: "sk-test", baseURL: `${url}/v1`, maxRetries: 0 });
    let start = performance.now();
    await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }] });
    expect(performance.now() - start).toBeGreaterThanOrEqual(140);
    start = performance.now();
    const stream = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const _chunk of stream) break;
    expect(performance.now() - start).toBeGreaterThanOrEqual(140);
    await stream.controller.abort();
  });

  it("adds output_tokens / tokensPerS, spreading a stream's events over that time", async () => {
    const { url } = await startSim({ tokensPerS: 1000 });
    const client = new OpenAI({ apiKey: "sk-test", baseURL: `${url}/v1`, maxRetries: 0 });
    let start = performance.now();
    const res = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Describe clouds" }] });
    const expected = ((res.usage?.completion_tokens ?? 0) / 1000) * 1000;
    expect(expected).toBeGreaterThan(80);
    expect(performance.now() - start).toBeGreaterThanOrEqual(expected * 0.9);
    start = performance.now();
    const arrivals: number[] = [];
    const stream = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Describe clouds" }], stream: true });
    for await (const _chunk of stream) arrivals.push(performance.now() - start);
    expect(arrivals.at(-1) ?? 0).toBeGreaterThanOrEqual(expected * 0.9);
    // Spread, not sent at the end: the first and last events are far apart (a loaded machine delays them alike).
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(expected * 0.5);
  });
});

describe("server", () => {
  it("serves health, stats and 404s, and counts by provider, route and status", async () => {
    const { url } = await startSim();
    expect((await fetch(`${url}/__sim/health`)).status).toBe(200);
    const missing = await fetch(`${url}/v1/nothing`, { headers: { authorization: "Bearer k" } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("unknown_url");
    await post(url, "/v1/chat/completions", CHAT);
    await post(url, "/v1/messages", { ...CHAT, max_tokens: 50 });
    await post(url, "/v1/messages", { ...CHAT });
    const stats = await simStats(url);
    expect(stats).toMatchObject({
      total: 3,
      by_provider: { openai: 1, anthropic: 2, groq: 0 },
      by_route: { "openai.chat_completions": 1, "anthropic.messages": 2 },
      by_status: { "200": 2, "400": 1 },
      hanging: 0,
    });
  });

  it("answers Anthropic's count_tokens and single-model lookups", async () => {
    const { url } = await startSim();
    const counted = await post(url, "/v1/messages/count_tokens", { model: "claude-2", messages: [{ role: "user", content: "hello there" }] });
    expect(JSON.parse(counted.text)).toEqual({ input_tokens: expect.any(Number) });
    const model = await fetch(`${url}/v1/models/gpt-4o`, { headers: { authorization: "Bearer k" } });
    expect(await model.json()).toMatchObject({ id: "gpt-4o", object: "model" });
  });

  it("close() is idempotent and works before listen()", async () => {
    const never = createSimulator();
    await never.close();
    const { sim } = await startSim();
    await Promise.all([sim.close(), sim.close()]);
    expect(sim.server.listening).toBe(false);
  });

  it("refuses an invalid SIM_FAULTS spec at creation", () => {
    expect(() => createSimulator({ faults: "429:lots" })).toThrow(/SIM_FAULTS/);
  });
});
