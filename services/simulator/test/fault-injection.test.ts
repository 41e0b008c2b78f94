import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { schemaErrors, SIMPLE_USER, simStats, startSim } from "./helpers.js";

function openai(url: string): OpenAI {
  return new OpenAI({ apiKey: "sk-test", baseURL: `${url}/v1`, maxRetries: 0 });
}

function anthropic(url: string): Anthropic {
  return new Anthropic({ apiKey: "test", baseURL: url, maxRetries: 0 });
}

const structured = (content: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
  model: "gpt-4",
  messages: [{ role: "user", content }],
  response_format: { type: "json_schema", json_schema: { name: "user", schema: SIMPLE_USER } },
});

async function outcome(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError || err instanceof Anthropic.APIError) return err.status ?? -1;
    throw err;
  }
}

describe("fault markers in prompts", () => {
  it("when a prompt carries [[sim:429x2]], the first two calls get 429 with retry-after, then it answers", async () => {
    const { url } = await startSim();
    const client = openai(url);
    const req = structured("Make a user [[sim:429x2]]");
    const err = await client.chat.completions.create(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const headers = (err as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(headers?.get("retry-after")).toBe("1");
    expect(headers?.get("retry-after-ms")).toBe("1000");
    expect(await outcome(client.chat.completions.create(req))).toBe(429);
    const ok = await client.chat.completions.create(req);
    expect(schemaErrors(SIMPLE_USER, JSON.parse(ok.choices[0]?.message.content ?? ""))).toBe("");
    expect(ok.choices[0]?.message.content).not.toContain("sim:");
    const stats = await simStats(url);
    expect(stats.markers).toEqual({ "429": 2 });
    expect(stats.by_status).toEqual({ "429": 2, "200": 1 });
  });

  it("counts each prompt separately, and fires several markers in order", async () => {
    const { url } = await startSim();
    const client = openai(url);
    expect(await outcome(client.chat.completions.create(structured("first [[sim:500]]")))).toBe(500);
    expect(await outcome(client.chat.completions.create(structured("second [[sim:500]]")))).toBe(500);
    expect(await outcome(client.chat.completions.create(structured("first [[sim:500]]")))).toBe(200);
    const both = structured("user please [[sim:503]] [[sim:bad-schema]]");
    expect(await outcome(client.chat.completions.create(both))).toBe(503);
    const bad = await client.chat.completions.create(both);
    expect(schemaErrors(SIMPLE_USER, JSON.parse(bad.choices[0]?.message.content ?? ""))).not.toBe("");
    const good = await client.chat.completions.create(both);
    expect(schemaErrors(SIMPLE_USER, JSON.parse(good.choices[0]?.message.content ?? ""))).toBe("");
    expect((await simStats(url)).markers).toEqual({ "500": 2, "503": 1, "bad-schema": 1 });
  });

  it("xall keeps failing, and /__sim/reset starts the counts over", async () => {
    const { url } = await startSim();
    const client = openai(url);
    const req = structured("always [[sim:invalid-jsonxall]]");
    for (let i = 0; i < 3; i++) {
      const res = await client.chat.completions.create(req);
      expect(() => JSON.parse(res.choices[0]?.message.content ?? "")).toThrow();
    }
    const once = structured("once [[sim:401]]");
    expect(await outcome(client.chat.completions.create(once))).toBe(401);
    expect(await outcome(client.chat.completions.create(once))).toBe(200);
    expect((await fetch(`${url}/__sim/reset`, { method: "POST" })).status).toBe(200);
    expect((await simStats(url)).total).toBe(0);
    expect(await outcome(client.chat.completions.create(once))).toBe(401);
  });

  it("works in Anthropic's system prompt: 529 is overloaded_error, and 429 is rate_limit_error", async () => {
    const { url } = await startSim();
    const client = anthropic(url);
    const req: Anthropic.MessageCreateParamsNonStreaming = {
      model: "claude-2", max_tokens: 100, system: "Be kind [[sim:529]] [[sim:429]]", messages: [{ role: "user", content: "hi" }],
    };
    const overloaded = await client.messages.create(req).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    const limited = await client.messages.create(req).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: "rate_limit_error" } });
    await expect(client.messages.create(req)).resolves.toMatchObject({ type: "message" });
  });

  it("maps 529 to 503 for OpenAI, and invalid-json on an Anthropic tool to a text block", async () => {
    const { url } = await startSim();
    expect(await outcome(openai(url).chat.completions.create(structured("x [[sim:529]]")))).toBe(503);
    const msg = await anthropic(url).messages.create({
      model: "claude-haiku-4-5", max_tokens: 500, messages: [{ role: "user", content: "save [[sim:invalid-json]]" }],
      tools: [{ name: "save_user", input_schema: SIMPLE_USER }], tool_choice: { type: "tool", name: "save_user" },
    });
    expect(msg.stop_reason).toBe("end_turn");
    const block = msg.content[0];
    if (block?.type !== "text") throw new Error("expected a text block");
    expect(() => JSON.parse(block.text)).toThrow();
  });

  it("a hung request stays open until close(), which destroys it", async () => {
    const { sim, url } = await startSim();
    const pending = openai(url).chat.completions.create(structured("wait [[sim:hang]]"), { timeout: 30_000 }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && (await simStats(url)).hanging === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim.stats().hanging).toBe(1);
    expect(sim.stats().faults).toEqual({ hang: 1 });
    await sim.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sim.stats().hanging).toBe(0);
  });

  it("a hung request the client aborts is released", async () => {
    const { sim, url } = await startSim();
    const err = await openai(url).chat.completions.create(structured("wait [[sim:timeout]]"), { timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    for (let i = 0; i < 100 && sim.stats().hanging > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim.stats().hanging).toBe(0);
  });
});

describe("fault rates (SIM_FAULTS)", () => {
  it("roughly honours the configured rates over 200 requests", async () => {
    const { url } = await startSim({ faults: "429@200ms:0.2,500:0.1" });
    const statuses: number[] = [];
    const body = JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hello" }] });
    let retryAfterMs: string | null = null;
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body }),
        ),
      );
      for (const res of results) {
        statuses.push(res.status);
        if (res.status === 429) retryAfterMs = res.headers.get("retry-after-ms");
        await res.arrayBuffer();
      }
    }
    const count = (s: number): number => statuses.filter((x) => x === s).length;
    expect(count(429)).toBeGreaterThan(20);
    expect(count(429)).toBeLessThan(65);
    expect(count(500)).toBeGreaterThan(5);
    expect(count(500)).toBeLessThan(40);
    expect(count(200) + count(429) + count(500)).toBe(200);
    expect(retryAfterMs).toBe("200");
    const stats = await simStats(url);
    expect(stats.faults).toEqual({ "429": count(429), "500": count(500) });
    expect(stats.markers).toEqual({});
  });
});
