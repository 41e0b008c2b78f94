import * as AnthropicSdk from "@anthropic-ai/sdk";
import * as GroqSdk from "groq-sdk";
import * as OpenAISdk from "openai";
import { isAppError, redactSecrets, type ErrorBody, type ProviderName } from "@llmq/shared";
import { parseRateLimitHeaders, rateLimitWait, type RateLimitInfo } from "../capacity/rate-limit-headers.js";

/**
 * The one place that decides what a failure means. BullMQ is the only retry owner (the SDKs run with
 * `maxRetries: 0`), so every failure lands here once and gets exactly one of three fates:
 *
 * | failure                                             | fate          | code on the final record         |
 * |-----------------------------------------------------|---------------|----------------------------------|
 * | 429 (not a quota error)                             | rate_limited  | PROVIDER_RATE_LIMITED (max wait) |
 * | 408, 504, connection timeout                        | retry         | PROVIDER_TIMEOUT                 |
 * | 409, 5xx, 529 overloaded, connection reset/refused  | retry         | PROVIDER_ERROR                   |
 * | 429 insufficient_quota, 402, billing errors         | final         | PROVIDER_QUOTA_EXCEEDED          |
 * | 401/403, other 4xx                                  | final         | PROVIDER_ERROR                   |
 * | 400 saying the prompt is too long                   | final         | CONTEXT_LENGTH_EXCEEDED          |
 * | AppError from llmq (schema, context, repairs)       | final         | its own code                     |
 * | anything else (a bug, Redis hiccup)                 | retry         | INTERNAL                         |
 *
 * A provider's `x-should-retry: true|false` header overrides the status-based choice, as the SDKs do.
 * Messages are redacted with `redactSecrets`: a provider echoing part of a key never reaches a record or a log.
 */
export type Failure =
  /** waitMs: what the 429 asked for (retry-after-ms, retry-after, or the exhausted buckets' reset). */
  | { kind: "rate_limited"; waitMs: number | undefined; rateLimit: RateLimitInfo | undefined; error: ErrorBody }
  | { kind: "retry"; error: ErrorBody; retryAfterMs: number | undefined }
  | { kind: "final"; error: ErrorBody };

type AnyApiError = OpenAISdk.APIError | AnthropicSdk.APIError | GroqSdk.APIError;

function isApiError(err: unknown): err is AnyApiError {
  return err instanceof OpenAISdk.APIError || err instanceof AnthropicSdk.APIError || err instanceof GroqSdk.APIError;
}

function isTimeout(err: unknown): boolean {
  return (
    err instanceof OpenAISdk.APIConnectionTimeoutError ||
    err instanceof AnthropicSdk.APIConnectionTimeoutError ||
    err instanceof GroqSdk.APIConnectionTimeoutError
  );
}

const CONTEXT_PATTERNS = /context[_ ]length|context window|prompt is too long|maximum context|too many tokens/i;
// Spend limits: retrying cannot help. Narrow on purpose: ordinary 429 messages mention per-minute "limits".
const QUOTA_PATTERNS = /insufficient_quota|current quota|billing|credit balance|spend limit/i;

export function classifyFailure(err: unknown, provider: ProviderName): Failure {
  if (isAppError(err)) return { kind: "final", error: err.toBody() };
  if (isTimeout(err)) {
    return { kind: "retry", retryAfterMs: undefined, error: { code: "PROVIDER_TIMEOUT", message: `${provider} did not answer in time`, details: { provider } } };
  }
  if (!isApiError(err)) {
    return { kind: "retry", retryAfterMs: undefined, error: { code: "INTERNAL", message: redactSecrets(errorMessage(err)), details: { provider } } };
  }
  const status = err.status;
  const headers = err.headers;
  const type = errorType(err);
  const message = redactSecrets(err.message);
  if (status === undefined) {
    // APIConnectionError / APIUserAbortError: no response at all (reset, refused, DNS, aborted).
    return { kind: "retry", retryAfterMs: undefined, error: { code: "PROVIDER_ERROR", message, details: { provider, status: null, type: "connection_error" } } };
  }
  const details = { provider, status, type };
  const retryAfterMs = retryAfter(headers);
  const shouldRetry = headers?.get("x-should-retry");
  const quota = QUOTA_PATTERNS.test(`${type ?? ""} ${codeOf(err) ?? ""} ${err.message}`);

  if (status === 429 && !quota) {
    const rateLimit = parseRateLimitHeaders(provider, headers);
    return { kind: "rate_limited", waitMs: rateLimitWait(retryAfterMs, rateLimit), rateLimit, error: { code: "PROVIDER_RATE_LIMITED", message, details } };
  }
  if (quota || status === 402) {
    return { kind: "final", error: { code: "PROVIDER_QUOTA_EXCEEDED", message: `${provider} refused the request for the account's quota or billing: ${message}`, details } };
  }
  if (shouldRetry === "false" || (status < 500 && ![408, 409, 429].includes(status) && shouldRetry !== "true")) {
    const code = status === 400 && CONTEXT_PATTERNS.test(`${codeOf(err) ?? ""} ${err.message}`) ? "CONTEXT_LENGTH_EXCEEDED" : "PROVIDER_ERROR";
    return { kind: "final", error: { code, message, details } };
  }
  const code = status === 408 || status === 504 ? "PROVIDER_TIMEOUT" : "PROVIDER_ERROR";
  return { kind: "retry", retryAfterMs, error: { code, message, details } };
}

/** `retry-after-ms` (OpenAI, Anthropic), else `retry-after` in seconds or as an HTTP date. */
export function retryAfter(headers: Headers | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const raw = headers.get("retry-after");
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorType(err: AnyApiError): string | null {
  const e = err as { type?: unknown; error?: { type?: unknown; error?: { type?: unknown } } };
  const t = e.type ?? e.error?.error?.type ?? e.error?.type;
  return typeof t === "string" ? t : null;
}

function codeOf(err: AnyApiError): string | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === "string" ? c : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
