// Error replies in each provider's own body shape, so the SDKs raise the same error classes they
// raise against the real APIs (RateLimitError, InternalServerError, …) and llmq's adapters can
// classify them exactly as in production.
//   OpenAI/Groq: {"error": {"message", "type", "param", "code"}}
//   Anthropic:   {"type": "error", "error": {"type", "message"}}
// https://platform.openai.com/docs/guides/error-codes  https://docs.anthropic.com/en/api/errors
import type { FaultKind } from "./faults.js";
import type { Provider, RequestProblem } from "./sim-request.js";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function openaiError(
  status: number, message: string, type: string, code: string | null, param: string | null = null,
  headers: Record<string, string> = {},
): Reply {
  return { status, headers, body: JSON.stringify({ error: { message, type, param, code } }) };
}

export function anthropicError(status: number, type: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: JSON.stringify({ type: "error", error: { type, message } }) };
}

export function problemReply(provider: Provider, p: RequestProblem): Reply {
  return provider === "anthropic"
    ? anthropicError(p.status, "invalid_request_error", p.message)
    : openaiError(p.status, p.message, "invalid_request_error", p.code, p.param);
}

export function malformedJsonReply(provider: Provider): Reply {
  return provider === "anthropic"
    ? anthropicError(400, "invalid_request_error", "There was an error parsing the body of your request: invalid JSON.")
    : openaiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", "invalid_request_error", null);
}

export function missingKeyReply(provider: Provider): Reply {
  return provider === "anthropic"
    ? anthropicError(401, "authentication_error", "x-api-key header is required")
    : openaiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", "missing_api_key");
}

export function tooLargeReply(provider: Provider): Reply {
  return provider === "anthropic"
    ? anthropicError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
    : openaiError(413, "Request body too large.", "invalid_request_error", "request_too_large");
}

/** Retry-After in whole seconds (at least 1, as HTTP requires) and retry-after-ms for precision. */
export function retryHeaders(ms: number): Record<string, string> {
  return { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))), "retry-after-ms": String(Math.round(ms)) };
}

/** The reply for an injected HTTP fault; `hang` and content faults never get here. */
export function faultReply(provider: Provider, kind: FaultKind, model: string, retryAfterMs: number): Reply {
  const anthropic = provider === "anthropic";
  switch (kind) {
    case "429":
      return anthropic
        ? anthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (simulated).", retryHeaders(retryAfterMs))
        : openaiError(429, `Rate limit reached for ${model} on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in ${retryAfterMs}ms (simulated).`, "requests", "rate_limit_exceeded", null, retryHeaders(retryAfterMs));
    case "500":
      return anthropic
        ? anthropicError(500, "api_error", "Internal server error (simulated).")
        : openaiError(500, "The server had an error while processing your request. Sorry about that! (simulated)", "server_error", null);
    case "529":
    case "503":
      // 529 is Anthropic's "overloaded"; OpenAI and Groq signal the same condition with 503.
      if (anthropic) {
        return kind === "529"
          ? anthropicError(529, "overloaded_error", "Overloaded (simulated).")
          : anthropicError(503, "api_error", "Service unavailable (simulated).");
      }
      return openaiError(503, "The server is overloaded or not ready yet. (simulated)", "server_error", "service_unavailable");
    case "400":
      return anthropic
        ? anthropicError(400, "invalid_request_error", "Invalid request (simulated).")
        : openaiError(400, "Invalid request (simulated).", "invalid_request_error", null);
    case "quota":
      // Spend limits, not rate limits: OpenAI answers 429 insufficient_quota, Anthropic 402 billing_error.
      return anthropic
        ? anthropicError(402, "billing_error", "Your credit balance is too low to access the Anthropic API (simulated).")
        : openaiError(429, "You exceeded your current quota, please check your plan and billing details. (simulated)", "insufficient_quota", "insufficient_quota");
    case "401":
      return anthropic
        ? anthropicError(401, "authentication_error", "invalid x-api-key (simulated)")
        : openaiError(401, "Incorrect API key provided (simulated).", "invalid_request_error", "invalid_api_key");
    default:
      return anthropic
        ? anthropicError(500, "api_error", `Unexpected simulated fault ${kind}.`)
        : openaiError(500, `Unexpected simulated fault ${kind}.`, "server_error", null);
  }
}
