import Anthropic from "@anthropic-ai/sdk";
import { parseConfig } from "@llmq/shared";
import Groq from "groq-sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createSimulator, parseLimits } from "../src/index.js";
import { formatDuration } from "../src/rate-limit-wire.js";
import { simStats, startSim } from "./helpers.js";

// Every test drives the limiter with this clock: refills are asserted to the millisecond, never timed.
function fakeClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const START = Date.UTC(2026, 0, 1);
const iso = (ms: number): string => new Date(ms).toISOString();

function openai(url: string): OpenAI {
  return new OpenAI({ apiKey: "sk-test", baseURL: `${url}/v1`, maxRetries: 0 });
}

function anthropic(url: string): Anthropic {
  return new Anthropic({ apiKey: "test", baseURL: url, maxRetries: 0 });
}

function groq(url: string): Groq {
  return new Groq({ apiKey: "test", baseURL: url, maxRetries: 0 });
}

const HEADERS = { authorization: "Bearer k", "anthropic-version": "2023-06-01", "content-type": "application/json" };

interface Sent {
  status: number;
  headers: Headers;
  json: unknown;
}

async function post(url: string, body: unknown, path = "/v1/chat/completions"): Promise<Sent> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: HEADERS, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text };
}

/** The rate-limit and retry headers of a response, so a test can assert the exact set. */
function limitHeaders(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, name) => {
    if (/^(x-ratelimit-|anthropic-ratelimit-|retry-after)/.test(name)) out[name] = value;
  });
  return out;
}

const HI = (model: string, maxTokens?: number): Record<string, unknown> => ({
  model, messages: [{ role: "user", content: "hi" }], ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
});

/** Sends `body` until the first refusal (at most `max` times); returns how many got through. */
async function passes(url: string, body: unknown, max = 50): Promise<number> {
  for (let i = 0; i < max; i++) if ((await post(url, body)).status !== 200) return i;
  return max;
}

describe("SIM_LIMITS parsing", () => {
  it("reads models, every key and `*`, tolerating spaces, case and empty entries", () => {
    expect(parseLimits("gpt-4=rpm:6000,tpm:600000;claude-sonnet-4-5=rpm:50,itpm:30000,otpm:8000;llama-3.1-8b-instant=rpm:30,rpd:14400,tpm:6000")).toEqual({
      "gpt-4": { rpm: 6000, tpm: 600000 },
      "claude-sonnet-4-5": { rpm: 50, itpm: 30000, otpm: 8000 },
      "llama-3.1-8b-instant": { rpm: 30, rpd: 14400, tpm: 6000 },
    });
    expect(parseLimits(" openai/gpt-oss-20b = RPM : 60 , tpm:100 ;; *=rpd:5;")).toEqual({ "openai/gpt-oss-20b": { rpm: 60, tpm: 100 }, "*": { rpd: 5 } });
    expect(parseLimits("")).toEqual({});
    expect(parseLimits("  ")).toEqual({});
    expect(parseLimits({ "*": { rpm: 60 } })).toEqual({ "*": { rpm: 60 } });
  });

  it("fails naming every bad part and showing the right form", () => {
    const bad = (): unknown => parseLimits("gpt-4=rpm:abc;claude=xpm:5;=rpm:1;llama;gpt-4o=rpm:0,rpm:1;o4-mini=tpm:1.5;ok=rpm:1;ok=rpm:2");
    expect(bad).toThrow(/^Invalid SIM_LIMITS: /);
    expect(bad).toThrow('"gpt-4=rpm:abc" (rpm must be a positive integer)');
    expect(bad).toThrow('"claude=xpm:5" (unknown limit "xpm")');
    expect(bad).toThrow('"=rpm:1" (no model before "=")');
    expect(bad).toThrow('"llama" (no limits)');
    expect(bad).toThrow('"gpt-4o=rpm:0,rpm:1" (rpm must be a positive integer, rpm given twice)');
    expect(bad).toThrow('"o4-mini=tpm:1.5" (tpm must be a positive integer)');
    expect(bad).toThrow('"ok=rpm:2" (model "ok" given twice)');
    expect(bad).toThrow('e.g. "gpt-4=rpm:6000,tpm:600000;claude-sonnet-4-5=rpm:50,itpm:30000,otpm:8000;*=rpm:60"');
    expect(() => parseLimits({ "gpt-4": { rpm: -1 } })).toThrow("rpm must be a positive integer");
    expect(() => parseLimits({ "gpt-4": {} })).toThrow("no limits");
  });

  it("comes from SIM_LIMITS in llmq's config, and a bad one stops the simulator at creation", () => {
    expect(parseConfig({}).simulator.limits).toBe("");
    expect(parseConfig({ SIM_LIMITS: "gpt-4=rpm:60" }).simulator.limits).toBe("gpt-4=rpm:60");
    expect(() => createSimulator({ limits: "gpt-4=rpm" })).toThrow(/Invalid SIM_LIMITS: "gpt-4=rpm"/);
  });

  it("formats resets the way OpenAI does", () => {
    expect([0, -5, 0.2, 20, 999, 1000, 1500, 1001, 59_999, 360_000, 90_500, 3_600_000].map(formatDuration)).toEqual(
      ["0s", "0s", "1ms", "20ms", "999ms", "1s", "1.5s", "1.001s", "59.999s", "6m0s", "1m30.5s", "1h0m0s"],
    );
  });
});

describe("OpenAI rate limits", () => {
  it("refuses a burst over rpm with 429, OpenAI's body and headers, and the SDK's RateLimitError", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=rpm:120,tpm:60000", now: clock.now });
    const client = openai(url);
    const req: OpenAI.ChatCompletionCreateParamsNonStreaming = { model: "gpt-4", messages: [{ role: "user", content: "hi" }], max_tokens: 100 };
    // rpm 120: 2 requests of capacity, one back every 500 ms; tpm 60000: 1000 tokens, one back per ms.
    const first = await client.chat.completions.create(req).withResponse();
    const cost = (first.data.usage?.prompt_tokens ?? 0) + 100;
    expect(limitHeaders(first.response.headers)).toEqual({
      "x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "500ms",
      "x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": String(1000 - cost), "x-ratelimit-reset-tokens": `${cost}ms`,
    });
    const second = await client.chat.completions.create(req).withResponse();
    expect(second.response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(second.response.headers.get("x-ratelimit-reset-requests")).toBe("1s");

    const err = await client.chat.completions.create(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const limited = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited.type).toBe("requests");
    expect(limited.code).toBe("rate_limit_exceeded");
    expect(limited.param).toBeNull();
    expect(limited.message).toBe(
      "429 Rate limit reached for gpt-4 in organization org-simulated on requests per min (RPM): Limit 120, Used 120, Requested 1. Please try again in 500ms. (simulated)",
    );
    expect(limitHeaders(limited.headers)).toEqual({
      "retry-after": "1", "retry-after-ms": "500",
      "x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": String(1000 - 2 * cost), "x-ratelimit-reset-tokens": `${2 * cost}ms`,
    });
  });

  it("refills continuously: after N ms exactly the requests those N ms are worth pass", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=rpm:600", now: clock.now });
    const body = HI("gpt-4");
    // rpm 600: 10 requests of capacity, one back every 100 ms.
    expect(await passes(url, body)).toBe(10);
    clock.advance(350);
    expect(await passes(url, body)).toBe(3);
    clock.advance(49);
    const early = await post(url, body);
    expect(early.status).toBe(429);
    expect(early.headers.get("retry-after-ms")).toBe("1");
    expect(early.headers.get("retry-after")).toBe("1");
    clock.advance(1);
    expect(await passes(url, body)).toBe(1);
    clock.advance(60_000);
    expect(await passes(url, body)).toBe(10);
  });

  it("charges nothing on a refusal: a request that does not fit leaves room for one that does", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=rpm:120,tpm:6000", now: clock.now });
    // tpm 6000: 100 tokens of capacity, 0.1 token back per ms; a request costs prompt + max_tokens.
    const first = await post(url, HI("gpt-4", 50));
    const prompt = (first.json as OpenAI.ChatCompletion).usage?.prompt_tokens ?? 0;
    const cost = prompt + 50;
    const left = 100 - cost;
    expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe(String(left));

    const refused = await post(url, HI("gpt-4", 50));
    expect(refused.status).toBe(429);
    const wait = (cost - left) * 10;
    expect(refused.json).toEqual({
      error: {
        message: `Rate limit reached for gpt-4 in organization org-simulated on tokens per min (TPM): Limit 6000, Used ${Math.round(6000 * (1 - left / 100))}, Requested ${cost}. Please try again in ${wait}ms. (simulated)`,
        type: "tokens", param: null, code: "rate_limit_exceeded",
      },
    });
    expect(refused.headers.get("retry-after-ms")).toBe(String(wait));
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(refused.headers.get("x-ratelimit-remaining-tokens")).toBe(String(left));

    const small = await post(url, HI("gpt-4", 1));
    expect(small.status).toBe(200);
    expect(small.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(small.headers.get("x-ratelimit-remaining-tokens")).toBe(String(left - prompt - 1));
    const stats = await simStats(url);
    expect(stats.limits).toEqual({ "openai:gpt-4": { admitted: 2, rate_limited: 1, tokens_charged: cost + prompt + 1 } });
    expect(stats.rate_limited).toBe(1);
    expect(stats.by_status).toEqual({ "200": 2, "429": 1 });
  });

  it("admits a request larger than the bucket when the bucket is full, then waits for the whole debt", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=tpm:6000", now: clock.now });
    const first = await post(url, HI("gpt-4", 500));
    expect(first.status).toBe(200);
    const cost = ((first.json as OpenAI.ChatCompletion).usage?.prompt_tokens ?? 0) + 500;
    // The bucket is at 100 - cost; it is full again after cost tokens at 0.1 per ms.
    expect(limitHeaders(first.headers)).toEqual({
      "x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": formatDuration(cost * 10),
    });
    const again = await post(url, HI("gpt-4", 500));
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after-ms")).toBe(String(cost * 10));
    expect(again.headers.get("retry-after")).toBe(String(Math.ceil(cost / 100)));
    clock.advance(cost * 10 - 1);
    expect((await post(url, HI("gpt-4", 500))).status).toBe(429);
    clock.advance(1);
    expect((await post(url, HI("gpt-4", 500))).status).toBe(200);
  });

  it("charges 1024 output tokens when a request sets no max tokens", async () => {
    const clock = fakeClock();
    const { sim, url } = await startSim({ limits: "gpt-4=tpm:600000", now: clock.now });
    const res = await post(url, HI("gpt-4"));
    const prompt = (res.json as OpenAI.ChatCompletion).usage?.prompt_tokens ?? 0;
    expect(res.headers.get("x-ratelimit-remaining-tokens")).toBe(String(10_000 - prompt - 1024));
    expect(sim.stats().limits["openai:gpt-4"]?.tokens_charged).toBe(prompt + 1024);
  });

  it("checks limits after the body parses and before faults roll, on streams too", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=rpm:60", faults: "500:1", now: clock.now });
    expect((await post(url, { ...HI("gpt-4"), n: 2 })).status).toBe(400);
    const failed = await post(url, { ...HI("gpt-4"), stream: true });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const err = await openai(url).chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], stream: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const stats = await simStats(url);
    expect(stats.faults).toEqual({ "500": 1 });
    expect(stats.limits).toEqual({ "openai:gpt-4": { admitted: 1, rate_limited: 1, tokens_charged: 0 } });
    expect(stats.by_status).toEqual({ "400": 1, "500": 1, "429": 1 });
  });

  it("sends the headers on an admitted stream", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "gpt-4=rpm:60", now: clock.now });
    const res = await post(url, { ...HI("gpt-4"), stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(limitHeaders(res.headers)).toEqual({ "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s" });
    expect((await simStats(url)).streams).toBe(1);
  });
});

describe("Anthropic rate limits", () => {
  it("charges max_tokens as output at admission, refunds down to the real output, and answers 429 in Anthropic's shape", async () => {
    const clock = fakeClock(START);
    const { url } = await startSim({ limits: "claude-sonnet-4-5=rpm:600,itpm:60000,otpm:6000", now: clock.now });
    const client = anthropic(url);
    const req: Anthropic.MessageCreateParamsNonStreaming = {
      model: "claude-sonnet-4-5", max_tokens: 90, messages: [{ role: "user", content: "Say hello, brief." }],
    };
    // Capacities: 10 requests (one per 100 ms), 1000 input tokens and 100 output tokens (0.1 per ms).
    const first = await client.messages.create(req).withResponse();
    const { input_tokens: input, output_tokens: output } = first.data.usage;
    expect(output).toBeGreaterThan(10); // so the second request's 90 does not fit in what is left
    expect(output).toBeLessThan(90); // so there is something to refund
    expect(limitHeaders(first.response.headers)).toEqual({
      "anthropic-ratelimit-requests-limit": "600",
      "anthropic-ratelimit-requests-remaining": "9",
      "anthropic-ratelimit-requests-reset": iso(START + 100),
      "anthropic-ratelimit-input-tokens-limit": "60000",
      "anthropic-ratelimit-input-tokens-remaining": String(1000 - input),
      "anthropic-ratelimit-input-tokens-reset": iso(START + input),
      "anthropic-ratelimit-output-tokens-limit": "6000",
      "anthropic-ratelimit-output-tokens-remaining": String(100 - output),
      "anthropic-ratelimit-output-tokens-reset": iso(START + output * 10),
      "anthropic-ratelimit-tokens-limit": "6000",
      "anthropic-ratelimit-tokens-remaining": String(100 - output),
      "anthropic-ratelimit-tokens-reset": iso(START + output * 10),
    });

    const err = await client.messages.create(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const limited = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(limited.error).toEqual({
      type: "error",
      error: { type: "rate_limit_error", message: expect.stringMatching(/^This request would exceed your organization's rate limit of 6,000 output tokens per minute \(simulated\)\. /) },
    });
    const wait = (90 - (100 - output)) * 10;
    expect(limited.headers.get("retry-after-ms")).toBe(String(wait));
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(limited.headers.get("anthropic-ratelimit-output-tokens-remaining")).toBe(String(100 - output));
    expect(limited.headers.get("anthropic-ratelimit-requests-remaining")).toBe("9");

    clock.advance(wait);
    await expect(client.messages.create(req)).resolves.toMatchObject({ type: "message" });
    const stats = await simStats(url);
    expect(stats.limits).toEqual({ "anthropic:claude-sonnet-4-5": { admitted: 2, rate_limited: 1, tokens_charged: 2 * (input + output) } });
  });

  it("names the input limit when the prompt is too large, and refunds the whole output of a fault", async () => {
    const clock = fakeClock(START);
    // itpm 6000: 100 input tokens of capacity; otpm 60000: 1000 output tokens.
    const { url } = await startSim({ limits: "claude-haiku-4-5=itpm:6000,otpm:60000", now: clock.now });
    const long = { model: "claude-haiku-4-5", max_tokens: 500, messages: [{ role: "user", content: "word ".repeat(40) }] };
    const failed = await post(url, { ...long, messages: [{ role: "user", content: "hi [[sim:500]]" }] }, "/v1/messages");
    expect(failed.status).toBe(500);
    expect(failed.headers.get("anthropic-ratelimit-output-tokens-remaining")).toBe("1000");
    expect(failed.headers.get("anthropic-ratelimit-requests-limit")).toBeNull();
    const first = await post(url, long, "/v1/messages");
    expect(first.status).toBe(200);
    const refused = await post(url, long, "/v1/messages");
    expect(refused.status).toBe(429);
    expect((refused.json as { error: { message: string } }).error.message).toMatch(/rate limit of 6,000 input tokens per minute/);
    expect(refused.headers.get("anthropic-ratelimit-tokens-limit")).toBe("6000");
  });
});

describe("Groq rate limits", () => {
  it("advertises the per-day request bucket and per-minute tokens, and refuses the second request of the second", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "llama-3.1-8b-instant=rpm:600,rpd:14400,tpm:60000", now: clock.now });
    const client = groq(url);
    const req = { model: "llama-3.1-8b-instant", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 100 };
    // rpd 14400: capacity 1 request (one second's worth is 1/6), one back every 6 s.
    const first = await client.chat.completions.create(req).withResponse();
    const cost = (first.data.usage?.prompt_tokens ?? 0) + 100;
    expect(limitHeaders(first.response.headers)).toEqual({
      "x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6s",
      "x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": String(1000 - cost), "x-ratelimit-reset-tokens": `${cost}ms`,
    });
    const err = await client.chat.completions.create(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Groq.RateLimitError);
    const limited = err as InstanceType<typeof Groq.RateLimitError>;
    expect(limited.headers?.get("retry-after")).toBe("6");
    expect(limited.headers?.get("retry-after-ms")).toBe("6000");
    expect(limited.error).toMatchObject({ error: { type: "requests", code: "rate_limit_exceeded" } });
    expect(limited.message).toContain("on requests per day (RPD): Limit 14400, Used 14400, Requested 1. Please try again in 6s.");
    clock.advance(5999);
    expect((await post(url, req, "/openai/v1/chat/completions")).headers.get("retry-after-ms")).toBe("1");
    clock.advance(1);
    await expect(client.chat.completions.create(req)).resolves.toMatchObject({ object: "chat.completion" });
  });

  it("enforces rpm without advertising it", async () => {
    const clock = fakeClock();
    const { url } = await startSim({ limits: "llama3-8b-8192=rpm:60", now: clock.now });
    const body = HI("llama3-8b-8192");
    const path = "/openai/v1/chat/completions";
    const first = await post(url, body, path);
    expect(first.status).toBe(200);
    expect(limitHeaders(first.headers)).toEqual({});
    const refused = await post(url, body, path);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: { type: "requests", message: expect.stringContaining("requests per min (RPM): Limit 60") } });
    expect(limitHeaders(refused.headers)).toEqual({ "retry-after": "1", "retry-after-ms": "1000" });
  });
});

describe("models without limits", () => {
  it("get no headers and no checks; `*` covers every model without its own entry, with the keys its provider has", async () => {
    const clock = fakeClock(START);
    const { url } = await startSim({ limits: { "gpt-4": { rpm: 60 }, "*": { itpm: 100 } }, now: clock.now });
    for (let i = 0; i < 5; i++) {
      const res = await post(url, HI("gpt-4o"));
      expect(res.status).toBe(200);
      expect(limitHeaders(res.headers)).toEqual({});
    }
    const claude = await post(url, { ...HI("claude-2"), max_tokens: 10 }, "/v1/messages");
    expect(Object.keys(limitHeaders(claude.headers)).sort()).toEqual([
      "anthropic-ratelimit-input-tokens-limit", "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset",
      "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset",
    ]);
    expect(Object.keys((await simStats(url)).limits)).toEqual(["anthropic:claude-2"]);
  });

  it("a simulator without SIM_LIMITS sends no rate-limit headers and counts nothing", async () => {
    const { url } = await startSim();
    const res = await post(url, HI("gpt-4"));
    expect(limitHeaders(res.headers)).toEqual({});
    const stats = await simStats(url);
    expect(stats.limits).toEqual({});
    expect(stats.rate_limited).toBe(0);
  });
});

describe("stats and reset", () => {
  it("POST /__sim/reset refills every bucket and zeroes the limit counts", async () => {
    const clock = fakeClock();
    const { sim, url } = await startSim({ limits: "gpt-4=rpm:60;claude-2=rpm:60", now: clock.now });
    await post(url, HI("gpt-4"));
    await post(url, HI("gpt-4"));
    await post(url, { ...HI("claude-2"), max_tokens: 10 }, "/v1/messages");
    expect(sim.stats()).toMatchObject({
      rate_limited: 1,
      limits: {
        "openai:gpt-4": { admitted: 1, rate_limited: 1, tokens_charged: 0 },
        "anthropic:claude-2": { admitted: 1, rate_limited: 0, tokens_charged: 0 },
      },
    });
    expect((await fetch(`${url}/__sim/reset`, { method: "POST" })).status).toBe(200);
    const stats = await simStats(url);
    expect(stats.limits).toEqual({});
    expect(stats.rate_limited).toBe(0);
    const again = await post(url, HI("gpt-4"));
    expect(again.status).toBe(200);
    expect(again.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect((await post(url, HI("gpt-4"))).status).toBe(429);
  });
});
