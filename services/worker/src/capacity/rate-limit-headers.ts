import type { CapacityDim, ProviderName } from "@llmq/shared";

/**
 * What a provider's response headers say about its rate limits, in llmq's capacity dimensions.
 * - OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, per minute; reset is a duration
 *   ("1s", "6m0s", "59.1s", "120ms"). https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
 * - Groq: the same names, but `-requests` is the per-DAY quota and `-tokens` per minute.
 *   https://console.groq.com/docs/rate-limits#handling-rate-limits
 * - Anthropic: `anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}`, per
 *   minute; reset is an RFC 3339 time. https://docs.anthropic.com/en/api/rate-limits#response-headers
 */
export interface BucketInfo {
  /** Per minute. */
  limit?: number;
  remaining?: number;
  /** Until the bucket is full again. */
  resetMs?: number;
}

export interface RateLimitInfo {
  dims: Partial<Record<CapacityDim, BucketInfo>>;
  /** Groq's per-day request quota: not a bucket llmq paces, but exhausted it blocks the model until reset. */
  daily?: BucketInfo;
}

type HeaderSource = Pick<Headers, "get">;

export function parseRateLimitHeaders(provider: ProviderName, headers: HeaderSource | undefined): RateLimitInfo | undefined {
  if (headers === undefined) return undefined;
  const info: RateLimitInfo = { dims: {} };
  if (provider === "anthropic") {
    put(info.dims, "rq", anthropicBucket(headers, "requests"));
    put(info.dims, "in", anthropicBucket(headers, "input-tokens"));
    put(info.dims, "out", anthropicBucket(headers, "output-tokens"));
  } else {
    const requests = openaiBucket(headers, "requests");
    if (provider === "groq") info.daily = requests;
    else put(info.dims, "rq", requests);
    put(info.dims, "tk", openaiBucket(headers, "tokens"));
  }
  return Object.keys(info.dims).length > 0 || info.daily !== undefined ? info : undefined;
}

function put(dims: RateLimitInfo["dims"], dim: CapacityDim, b: BucketInfo | undefined): void {
  if (b !== undefined) dims[dim] = b;
}

function openaiBucket(h: HeaderSource, what: string): BucketInfo | undefined {
  return bucket(num(h.get(`x-ratelimit-limit-${what}`)), num(h.get(`x-ratelimit-remaining-${what}`)), parseDuration(h.get(`x-ratelimit-reset-${what}`)));
}

function anthropicBucket(h: HeaderSource, what: string): BucketInfo | undefined {
  const reset = h.get(`anthropic-ratelimit-${what}-reset`);
  const at = reset === null ? Number.NaN : Date.parse(reset);
  return bucket(num(h.get(`anthropic-ratelimit-${what}-limit`)), num(h.get(`anthropic-ratelimit-${what}-remaining`)), Number.isNaN(at) ? undefined : Math.max(0, at - Date.now()));
}

function bucket(limit: number | undefined, remaining: number | undefined, resetMs: number | undefined): BucketInfo | undefined {
  if (limit === undefined && remaining === undefined && resetMs === undefined) return undefined;
  return { ...(limit === undefined ? {} : { limit }), ...(remaining === undefined ? {} : { remaining }), ...(resetMs === undefined ? {} : { resetMs }) };
}

function num(v: string | null): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** OpenAI's durations ("6m0s", "1.5s", "120ms"); a bare number is seconds. */
export function parseDuration(v: string | null): number | undefined {
  if (v === null) return undefined;
  const s = v.trim();
  if (s === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.ceil(Number(s) * 1000);
  let total = 0;
  let matched = "";
  for (const m of s.matchAll(DURATION_PART)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched += m[0];
  }
  return matched === s ? Math.ceil(total) : undefined;
}

/**
 * How long a 429 asks to wait: `retry-after-ms`, `retry-after` (seconds or an HTTP date), else the reset of
 * the exhausted buckets (remaining 0) it reports.
 */
export function rateLimitWait(retryAfterMs: number | undefined, info: RateLimitInfo | undefined): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs;
  if (info === undefined) return undefined;
  let wait: number | undefined;
  for (const b of [...Object.values(info.dims), info.daily]) {
    if (b?.remaining === 0 && b.resetMs !== undefined) wait = Math.max(wait ?? 0, b.resetMs);
  }
  return wait;
}
