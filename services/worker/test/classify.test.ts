import * as AnthropicSdk from "@anthropic-ai/sdk";
import * as OpenAISdk from "openai";
import { describe, expect, it } from "vitest";
import { AppError } from "@llmq/shared";
import { classifyFailure, retryAfter } from "../src/index.js";

/** Errors built with the SDKs' own factory (APIError.generate), as the SDKs raise them from a response. */
const openai = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  OpenAISdk.APIError.generate(status, { error }, undefined, new Headers(headers));
const anthropic = (status: number, type: string, message: string) =>
  AnthropicSdk.APIError.generate(status, { type: "error", error: { type, message } }, undefined, new Headers());

describe("classifying provider failures", () => {
  it("treats an exhausted quota as final, but an ordinary 429 as a rate limit", () => {
    expect(classifyFailure(openai(429, { code: "insufficient_quota", message: "You exceeded your current quota, please check your plan and billing details." }), "openai").kind).toBe("final");
    expect(classifyFailure(openai(429, { code: "rate_limit_exceeded", message: "Rate limit reached on requests per min (RPM): Limit 60" }, { "retry-after": "2" }), "openai"))
      .toMatchObject({ kind: "rate_limited", waitMs: 2000 });
    expect(classifyFailure(anthropic(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."), "anthropic").kind).toBe("final");
  });

  it("turns a provider's context-length 400 into CONTEXT_LENGTH_EXCEEDED", () => {
    const f = classifyFailure(openai(400, { code: "context_length_exceeded", message: "This model's maximum context length is 8192 tokens." }), "openai");
    expect(f).toMatchObject({ kind: "final", error: { code: "CONTEXT_LENGTH_EXCEEDED" } });
    expect(classifyFailure(anthropic(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"), "anthropic").error.code).toBe("CONTEXT_LENGTH_EXCEEDED");
  });

  it("retries 408, 409, 5xx and 529; honours x-should-retry", () => {
    for (const status of [408, 409, 500, 502, 503, 529]) expect(classifyFailure(openai(status, { message: "x" }), "openai").kind).toBe("retry");
    expect(classifyFailure(openai(408, { message: "x" }), "openai").error.code).toBe("PROVIDER_TIMEOUT");
    expect(classifyFailure(openai(500, { message: "x" }, { "x-should-retry": "false" }), "openai").kind).toBe("final");
    expect(classifyFailure(openai(400, { message: "x" }, { "x-should-retry": "true" }), "openai").kind).toBe("retry");
  });

  it("redacts keys a provider echoes back", () => {
    const f = classifyFailure(openai(401, { code: "invalid_api_key", message: "Incorrect API key provided: sk-proj-abcdef1234567890." }), "openai");
    expect(f.kind).toBe("final");
    expect(f.error.message).not.toContain("abcdef1234567890");
    expect(f.error.details).toMatchObject({ provider: "openai", status: 401 });
  });

  it("keeps llmq's own errors final with their code, and retries anything unknown as INTERNAL", () => {
    expect(classifyFailure(new AppError("OUTPUT_SCHEMA_MISMATCH", "bad"), "groq")).toMatchObject({ kind: "final", error: { code: "OUTPUT_SCHEMA_MISMATCH" } });
    expect(classifyFailure(new TypeError("boom"), "groq")).toMatchObject({ kind: "retry", error: { code: "INTERNAL" } });
  });

  it("reads retry-after-ms, retry-after seconds and retry-after dates", () => {
    expect(retryAfter(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }))).toBe(1500);
    expect(retryAfter(new Headers({ "retry-after": "3" }))).toBe(3000);
    const inFive = retryAfter(new Headers({ "retry-after": new Date(Date.now() + 5000).toUTCString() }));
    expect(inFive).toBeGreaterThan(3000);
    expect(retryAfter(new Headers())).toBeUndefined();
  });
});
