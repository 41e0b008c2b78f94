import { describe, expect, it } from "vitest";
import { rawPromptTokens } from "../src/capacity/capacity-gate.js";
import { parseDuration, parseRateLimitHeaders, rateLimitWait, type RateLimitInfo } from "../src/capacity/rate-limit-headers.js";
import type { ProviderRequest } from "../src/index.js";

describe("reading a provider's rate-limit headers", () => {
  it("reads OpenAI's per-minute request and token buckets, with their resets as durations", () => {
    const info = parseRateLimitHeaders(
      "openai",
      new Headers({
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
      }),
    );
    expect(info).toEqual({ dims: { rq: { limit: 500, remaining: 499, resetMs: 120 }, tk: { limit: 30_000, remaining: 0, resetMs: 360_000 } } });
    expect(info?.daily).toBeUndefined();
  });

  it("reads fractional and zero resets", () => {
    const info = parseRateLimitHeaders("openai", new Headers({ "x-ratelimit-reset-requests": "1.5s", "x-ratelimit-reset-tokens": "0s" }));
    expect(info).toEqual({ dims: { rq: { resetMs: 1500 }, tk: { resetMs: 0 } } });
  });

  it("puts Groq's request headers in the daily quota, not in the per-minute request bucket", () => {
    const info = parseRateLimitHeaders(
      "groq",
      new Headers({
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "14370",
        "x-ratelimit-reset-requests": "2m59.56s",
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-tokens": "5997",
        "x-ratelimit-reset-tokens": "30ms",
      }),
    );
    expect(info?.daily).toEqual({ limit: 14_400, remaining: 14_370, resetMs: 179_560 });
    expect(info?.dims.rq).toBeUndefined();
    expect(info?.dims.tk).toEqual({ limit: 6000, remaining: 5997, resetMs: 30 });
  });

  it("keeps Groq's daily quota alone when no token headers came", () => {
    const info = parseRateLimitHeaders("groq", new Headers({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1h" }));
    expect(info).toEqual({ dims: {}, daily: { remaining: 0, resetMs: 3_600_000 } });
  });

  it("reads Anthropic's request, input and output buckets, with the reset time turned into a wait from now", () => {
    const inThirty = new Date(Date.now() + 30_000).toISOString();
    const inFive = new Date(Date.now() + 5_000).toISOString();
    const info = parseRateLimitHeaders(
      "anthropic",
      new Headers({
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": inFive,
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": inThirty,
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
      }),
    );
    expect(Object.keys(info?.dims ?? {}).sort()).toEqual(["in", "out", "rq"]);
    expect(info?.dims.rq).toMatchObject({ limit: 50, remaining: 49 });
    expect(info?.dims.in).toMatchObject({ limit: 40_000, remaining: 0 });
    // Date.now() moves between building the header and parsing it: allow for that, never for more than the reset.
    expect(info?.dims.rq?.resetMs).toBeGreaterThan(4_000);
    expect(info?.dims.rq?.resetMs).toBeLessThanOrEqual(5_000);
    expect(info?.dims.in?.resetMs).toBeGreaterThan(29_000);
    expect(info?.dims.in?.resetMs).toBeLessThanOrEqual(30_000);
    expect(info?.dims.out).toEqual({ limit: 8000, remaining: 7000 });
    expect(info?.daily).toBeUndefined();
  });

  it("treats an Anthropic reset already past as no wait", () => {
    const info = parseRateLimitHeaders("anthropic", new Headers({ "anthropic-ratelimit-requests-reset": new Date(Date.now() - 10_000).toISOString() }));
    expect(info?.dims.rq).toEqual({ resetMs: 0 });
  });

  it("ignores OpenAI-style headers on Anthropic and Anthropic's on OpenAI", () => {
    expect(parseRateLimitHeaders("anthropic", new Headers({ "x-ratelimit-limit-requests": "500" }))).toBeUndefined();
    expect(parseRateLimitHeaders("openai", new Headers({ "anthropic-ratelimit-requests-limit": "50" }))).toBeUndefined();
  });

  it("returns undefined without headers or without rate-limit headers", () => {
    expect(parseRateLimitHeaders("openai", undefined)).toBeUndefined();
    expect(parseRateLimitHeaders("openai", new Headers())).toBeUndefined();
    expect(parseRateLimitHeaders("groq", new Headers({ "content-type": "application/json" }))).toBeUndefined();
  });

  it("ignores garbage values and keeps the good ones beside them", () => {
    const info = parseRateLimitHeaders(
      "openai",
      new Headers({
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "-5",
        "x-ratelimit-reset-requests": "soon",
        "x-ratelimit-limit-tokens": "",
        "x-ratelimit-remaining-tokens": "12",
        "x-ratelimit-reset-tokens": "1s and change",
      }),
    );
    expect(info).toEqual({ dims: { tk: { remaining: 12 } } });
    const anthropic = parseRateLimitHeaders("anthropic", new Headers({ "anthropic-ratelimit-requests-limit": "NaN", "anthropic-ratelimit-requests-reset": "not a date" }));
    expect(anthropic).toBeUndefined();
  });
});

describe("parsing OpenAI's reset durations", () => {
  it("reads every unit and their combinations", () => {
    expect(parseDuration("6m0s")).toBe(360_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("59.1s")).toBe(59_100);
    expect(parseDuration("120ms")).toBe(120);
    expect(parseDuration("0s")).toBe(0);
    expect(parseDuration("1h2m3s")).toBe(3_723_000);
    expect(parseDuration(" 2s ")).toBe(2000);
  });

  it("reads a bare number as seconds", () => {
    expect(parseDuration("2")).toBe(2000);
    expect(parseDuration("0.25")).toBe(250);
  });

  it("rounds a fraction of a millisecond up, never down to an early retry", () => {
    expect(parseDuration("1.0005s")).toBe(1001);
  });

  it("refuses anything that is not wholly a duration", () => {
    for (const v of [null, "", "  ", "soon", "5x", "1s and change", "-1s", "s", "1.5.2s"]) expect(parseDuration(v)).toBeUndefined();
  });
});

describe("how long a 429 asks to wait", () => {
  const exhausted: RateLimitInfo = {
    dims: { rq: { remaining: 0, resetMs: 2000 }, tk: { remaining: 0, resetMs: 5000 }, in: { remaining: 3, resetMs: 9000 } },
  };

  it("takes the retry time when the response gave one, whatever the buckets say", () => {
    expect(rateLimitWait(1500, exhausted)).toBe(1500);
    expect(rateLimitWait(0, exhausted)).toBe(0);
  });

  it("else waits for the slowest exhausted bucket, ignoring buckets with some left", () => {
    expect(rateLimitWait(undefined, exhausted)).toBe(5000);
  });

  it("counts Groq's exhausted daily quota as a bucket", () => {
    expect(rateLimitWait(undefined, { dims: { tk: { remaining: 0, resetMs: 700 } }, daily: { remaining: 0, resetMs: 3_600_000 } })).toBe(3_600_000);
  });

  it("has no answer when nothing is exhausted, no reset is known, or there are no headers", () => {
    expect(rateLimitWait(undefined, { dims: { rq: { remaining: 4, resetMs: 1000 } } })).toBeUndefined();
    expect(rateLimitWait(undefined, { dims: { rq: { remaining: 0 } } })).toBeUndefined();
    expect(rateLimitWait(undefined, undefined)).toBeUndefined();
  });
});

describe("estimating a prompt's tokens for the capacity buckets", () => {
  const req = (over: Partial<ProviderRequest>): ProviderRequest => ({ model: "m", messages: [], maxTokens: 100, output: { kind: "text" }, ...over });
  const schema = { type: "object" }; // 17 characters as JSON

  it("counts a quarter token per character, rounded up, 4 per message and 3 for the reply", () => {
    expect(rawPromptTokens(req({ messages: [] }))).toBe(3);
    expect(rawPromptTokens(req({ messages: [{ role: "user", content: "x".repeat(40) }] }))).toBe(3 + 4 + 10);
    expect(rawPromptTokens(req({ messages: [{ role: "user", content: "x".repeat(41) }] }))).toBe(3 + 4 + 11);
    const convo = [
      { role: "user" as const, content: "x".repeat(20) },
      { role: "assistant" as const, content: "y".repeat(20) },
      { role: "user" as const, content: "z".repeat(20) },
    ];
    expect(rawPromptTokens(req({ messages: convo }))).toBe(3 + 3 * 4 + 15);
  });

  it("counts the system instructions as one more message", () => {
    expect(rawPromptTokens(req({ system: "abcd", messages: [{ role: "user", content: "x".repeat(40) }] }))).toBe(3 + 4 + 4 + 11);
  });

  it("adds the output schema's JSON for native structured outputs and tool calls, not for JSON mode", () => {
    const messages = [{ role: "user" as const, content: "x".repeat(40) }];
    expect(rawPromptTokens(req({ messages, output: { kind: "json_schema", schema, strict: true } }))).toBe(3 + 4 + Math.ceil(57 / 4));
    expect(rawPromptTokens(req({ messages, output: { kind: "tool", name: "out", schema } }))).toBe(3 + 4 + Math.ceil(57 / 4));
    expect(rawPromptTokens(req({ messages, output: { kind: "json_object" } }))).toBe(3 + 4 + 10);
  });

  it("does not depend on max_tokens", () => {
    const messages = [{ role: "user" as const, content: "hello" }];
    expect(rawPromptTokens(req({ messages, maxTokens: 10 }))).toBe(rawPromptTokens(req({ messages, maxTokens: 10_000 })));
  });
});
