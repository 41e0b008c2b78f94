// Rate-limit headers and 429 bodies in each provider's own format, rendered from an Admission
// (rate-limits.ts). Only the headers of the limits configured are sent.
//   OpenAI    x-ratelimit-{limit,remaining,reset}-{requests,tokens}: rpm and tpm, resets as "6m0s"
//             https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
//   Groq      the same names, but -requests is the per-DAY (rpd) bucket; rpm is enforced, not advertised
//             https://console.groq.com/docs/rate-limits#rate-limit-headers
//   Anthropic anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset},
//             resets as RFC 3339; `tokens` is the more restrictive of the two token limits
//             https://docs.anthropic.com/en/api/rate-limits#response-headers
import { anthropicError, openaiError, retryHeaders, type Reply } from "./provider-errors.js";
import type { LimitKey } from "./rate-limit-spec.js";
import { msUntilFull, remaining, type Admission, type Bucket, type ModelLimiter } from "./rate-limits.js";

/** OpenAI's reset format (Go's time.Duration): `0s`, `20ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`; rounded up to the ms. */
export function formatDuration(ms: number): string {
  let rest = Math.ceil(ms);
  if (rest <= 0) return "0s";
  if (rest < 1000) return `${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  return `${h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : ""}${rest / 1000}s`;
}

function openaiBucket(out: Record<string, string>, name: "requests" | "tokens", b: Bucket | undefined): void {
  if (b === undefined) return;
  out[`x-ratelimit-limit-${name}`] = String(b.limit);
  out[`x-ratelimit-remaining-${name}`] = String(remaining(b));
  out[`x-ratelimit-reset-${name}`] = formatDuration(msUntilFull(b));
}

function anthropicBucket(out: Record<string, string>, name: string, b: Bucket | undefined, now: number): void {
  if (b === undefined) return;
  out[`anthropic-ratelimit-${name}-limit`] = String(b.limit);
  out[`anthropic-ratelimit-${name}-remaining`] = String(remaining(b));
  out[`anthropic-ratelimit-${name}-reset`] = new Date(Math.ceil(now + msUntilFull(b))).toISOString();
}

/** The token bucket with the fewest tokens left (input on a tie), or the only one configured. */
function tightest(l: ModelLimiter): Bucket | undefined {
  const { itpm, otpm } = l.buckets;
  if (itpm === undefined || otpm === undefined) return itpm ?? otpm;
  return remaining(otpm) < remaining(itpm) ? otpm : itpm;
}

/** Adds the model's rate-limit headers to `out`, as they stand after this request. */
export function writeRateLimitHeaders(admission: Admission, out: Record<string, string>): void {
  const l = admission.limiter;
  if (l.provider === "anthropic") {
    anthropicBucket(out, "requests", l.buckets.rpm, admission.now);
    anthropicBucket(out, "input-tokens", l.buckets.itpm, admission.now);
    anthropicBucket(out, "output-tokens", l.buckets.otpm, admission.now);
    anthropicBucket(out, "tokens", tightest(l), admission.now);
    return;
  }
  openaiBucket(out, "requests", l.provider === "groq" ? l.buckets.rpd : l.buckets.rpm);
  openaiBucket(out, "tokens", l.buckets.tpm);
}

const OPENAI_LIMIT_NAMES: Partial<Record<LimitKey, [type: string, phrase: string]>> = {
  rpm: ["requests", "requests per min (RPM)"],
  rpd: ["requests", "requests per day (RPD)"],
  tpm: ["tokens", "tokens per min (TPM)"],
};

const ANTHROPIC_LIMIT_NAMES: Partial<Record<LimitKey, string>> = {
  rpm: "requests", itpm: "input tokens", otpm: "output tokens",
};

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** How much of the limit the bucket's emptiness stands for, as OpenAI's message reports "Used". */
function used(b: Bucket): number {
  return Math.min(b.limit, Math.max(0, Math.round(b.limit * (1 - b.level / b.capacity))));
}

/** The 429 for a refused admission, with retry-after and the rate-limit headers. */
export function rateLimitReply(admission: Admission): Reply {
  const { limiter: l, refusedBy, cost, waitMs } = admission;
  const key = refusedBy ?? "rpm";
  const b = l.buckets[key] as Bucket;
  const headers = retryHeaders(Math.ceil(waitMs));
  writeRateLimitHeaders(admission, headers);
  if (l.provider === "anthropic") {
    const message =
      `This request would exceed your organization's rate limit of ${thousands(b.limit)} ${ANTHROPIC_LIMIT_NAMES[key] ?? key} ` +
      "per minute (simulated). For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can see the " +
      "response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.";
    return anthropicError(429, "rate_limit_error", message, headers);
  }
  const [type, phrase] = OPENAI_LIMIT_NAMES[key] ?? ["requests", key];
  const message =
    `Rate limit reached for ${l.model} in organization org-simulated on ${phrase}: Limit ${b.limit}, Used ${used(b)}, ` +
    `Requested ${cost}. Please try again in ${formatDuration(waitMs)}. (simulated)`;
  return openaiError(429, message, type, "rate_limit_exceeded", null, headers);
}
