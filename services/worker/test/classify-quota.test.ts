import * as AnthropicSdk from "@anthropic-ai/sdk";
import * as GroqSdk from "groq-sdk";
import * as OpenAISdk from "openai";
import { describe, expect, it } from "vitest";
import { classifyFailure } from "../src/index.js";

/** Errors built with the SDKs' own factory (APIError.generate), as the SDKs raise them from a response. */
const openai = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  OpenAISdk.APIError.generate(status, { error }, undefined, new Headers(headers));
const groq = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  GroqSdk.APIError.generate(status, { error }, undefined, new Headers(headers));
const anthropic = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
  AnthropicSdk.APIError.generate(status, { type: "error", error: { type, message } }, undefined, new Headers(headers));

const RPM_429 = { code: "rate_limit_exceeded", type: "tokens", message: "Rate limit reached for gpt-4 on tokens per min (TPM): Limit 30000, Used 30000, Requested 500." };

describe("classifying quota and rate-limit failures", () => {
  it("fails a 429 for an exhausted quota at once with PROVIDER_QUOTA_EXCEEDED, retry headers or not", () => {
    const err = openai(429, { code: "insufficient_quota", type: "insufficient_quota", message: "You exceeded your current quota, please check your plan and billing details." }, { "retry-after": "1" });
    const f = classifyFailure(err, "openai");
    expect(f).toMatchObject({ kind: "final", error: { code: "PROVIDER_QUOTA_EXCEEDED", details: { provider: "openai", status: 429 } } });
    expect(f.error.message).toContain("quota");
  });

  it("fails a 402 with PROVIDER_QUOTA_EXCEEDED, whatever its message says", () => {
    expect(classifyFailure(openai(402, { message: "Payment required." }), "openai")).toMatchObject({ kind: "final", error: { code: "PROVIDER_QUOTA_EXCEEDED", details: { status: 402 } } });
    expect(classifyFailure(groq(402, { message: "x" }), "groq")).toMatchObject({ kind: "final", error: { code: "PROVIDER_QUOTA_EXCEEDED" } });
  });

  it("fails Anthropic's low credit balance with PROVIDER_QUOTA_EXCEEDED", () => {
    const f = classifyFailure(anthropic(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."), "anthropic");
    expect(f).toMatchObject({ kind: "final", error: { code: "PROVIDER_QUOTA_EXCEEDED" } });
  });

  it("waits out an ordinary 429 without retry-after until its exhausted bucket resets, with the headers parsed", () => {
    const err = openai(429, RPM_429, {
      "x-ratelimit-limit-requests": "500",
      "x-ratelimit-remaining-requests": "480",
      "x-ratelimit-reset-requests": "2.4s",
      "x-ratelimit-limit-tokens": "30000",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "7.5s",
    });
    const f = classifyFailure(err, "openai");
    expect(f).toEqual({
      kind: "rate_limited",
      waitMs: 7500,
      rateLimit: { dims: { rq: { limit: 500, remaining: 480, resetMs: 2400 }, tk: { limit: 30_000, remaining: 0, resetMs: 7500 } } },
      error: { code: "PROVIDER_RATE_LIMITED", message: expect.stringContaining("Rate limit reached"), details: { provider: "openai", status: 429, type: "tokens" } },
    });
  });

  it("prefers a 429's retry-after over the buckets' reset", () => {
    const f = classifyFailure(openai(429, RPM_429, { "retry-after-ms": "1200", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20s" }), "openai");
    expect(f).toMatchObject({ kind: "rate_limited", waitMs: 1200, rateLimit: { dims: { tk: { remaining: 0, resetMs: 20_000 } } } });
  });

  it("reads Anthropic's reset time on a 429 as the wait", () => {
    const err = anthropic(429, "rate_limit_error", "This request would exceed the rate limit for your organization of 40,000 input tokens per minute.", {
      "anthropic-ratelimit-input-tokens-limit": "40000",
      "anthropic-ratelimit-input-tokens-remaining": "0",
      "anthropic-ratelimit-input-tokens-reset": new Date(Date.now() + 20_000).toISOString(),
    });
    const f = classifyFailure(err, "anthropic");
    expect(f.kind).toBe("rate_limited");
    if (f.kind !== "rate_limited") return;
    expect(f.waitMs).toBeGreaterThan(19_000);
    expect(f.waitMs).toBeLessThanOrEqual(20_000);
    expect(f.rateLimit?.dims.in).toMatchObject({ limit: 40_000, remaining: 0 });
  });

  it("waits for Groq's daily request quota when that is what ran out", () => {
    const f = classifyFailure(groq(429, { code: "rate_limit_exceeded", message: "Rate limit reached on requests per day (RPD)" }, { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1h" }), "groq");
    expect(f).toMatchObject({ kind: "rate_limited", waitMs: 3_600_000, rateLimit: { dims: {}, daily: { remaining: 0, resetMs: 3_600_000 } } });
  });

  it("leaves the wait open on a 429 that says nothing about when to come back", () => {
    const f = classifyFailure(openai(429, RPM_429), "openai");
    expect(f).toMatchObject({ kind: "rate_limited", waitMs: undefined, rateLimit: undefined });
  });
});
