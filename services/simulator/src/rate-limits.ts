// Per-(provider, model) rate limits, enforced with token buckets the way OpenAI documents them
// (https://platform.openai.com/docs/guides/rate-limits) so llmq's pacing can be tested offline.
// Invariants:
//   - Continuous refill: a bucket refills at limit/60 per second (rpd: limit/86400), never in steps.
//   - One-second capacity: a bucket holds one second's worth of its per-minute limit (rpd: one
//     second's worth, at least 1), so a burst is refused long before a minute's worth has passed.
//   - Nothing is charged on refusal: a request is checked against every bucket first, and charged
//     to all of them only if all have room. A request costing more than a bucket's capacity is
//     admitted when that bucket is full (it then goes negative), so it is never refused forever.
//   - Exact arithmetic: levels are kept in units × period-in-ms, so with an integer clock every
//     refill, charge and wait is an integer and tests can assert exact counts.
// A model with no limits costs the request path two Map lookups and nothing else.
import { ANY_MODEL, type LimitKey, type LimitsSpec, type ModelLimits } from "./rate-limit-spec.js";
import type { Provider, SimRequest } from "./sim-request.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Charged for the answer when an OpenAI/Groq request sets no max tokens (SimRequest.maxTokens is undefined). */
export const DEFAULT_MAX_TOKENS_CHARGE = 1024;

/** The limits each provider has; other keys in a model's entry are ignored for that provider. */
export const PROVIDER_LIMITS: Record<Provider, readonly LimitKey[]> = {
  openai: ["rpm", "tpm"],
  groq: ["rpm", "rpd", "tpm"],
  anthropic: ["rpm", "itpm", "otpm"],
};

export interface Bucket {
  /** As configured, per minute or per day. */
  readonly limit: number;
  /** 60 000 or 86 400 000 ms. */
  readonly period: number;
  /** Scaled by `period`, like `level`. */
  readonly capacity: number;
  /** Units × period; refills by `limit` per ms. */
  level: number;
  /** Clock time of the last refill, ms. */
  at: number;
}

export interface LimitCounts {
  admitted: number;
  rate_limited: number;
  /** Net tokens charged to the token buckets, after output refunds. */
  tokens_charged: number;
}

export interface ModelLimiter {
  readonly provider: Provider;
  readonly model: string;
  /** The configured limits that apply to this provider, in PROVIDER_LIMITS order. */
  readonly keys: readonly LimitKey[];
  readonly buckets: Partial<Record<LimitKey, Bucket>>;
  readonly counts: LimitCounts;
}

export interface Admission {
  readonly limiter: ModelLimiter;
  /** Clock time of the decision, ms. */
  readonly now: number;
  /** The limit that refused the request (the one to wait longest for); undefined when admitted. */
  readonly refusedBy: LimitKey | undefined;
  /** The request's cost in the refusing bucket. */
  readonly cost: number;
  /** How long until every refusing bucket holds this request's cost, ms (0 when admitted). */
  readonly waitMs: number;
  /** Output tokens charged at admission (Anthropic otpm), to be settled against the real answer. */
  outputCharged: number;
}

export interface LimitsSnapshot {
  limits: Record<string, LimitCounts>;
  rate_limited: number;
}

export interface RateLimiter {
  /** The model's limiter, or undefined when it has no limits for this provider. */
  lookup(provider: Provider, model: string): ModelLimiter | undefined;
  /** Charges every bucket, or none when one lacks room (then `refusedBy` says which). */
  admit(limiter: ModelLimiter, req: SimRequest): Admission;
  snapshot(): LimitsSnapshot;
  /** Refills every bucket and zeroes the counts. */
  reset(): void;
}

function createBucket(limit: number, period: number, now: number): Bucket {
  // One second's worth is limit*1000/period units, i.e. limit*1000 once scaled by period.
  const capacity = period === DAY_MS ? Math.max(limit * 1000, period) : limit * 1000;
  return { limit, period, capacity, level: capacity, at: now };
}

function refill(b: Bucket, now: number): void {
  if (now <= b.at) return; // a clock that steps back refills nothing until it catches up
  b.level = Math.min(b.capacity, b.level + (now - b.at) * b.limit);
  b.at = now;
}

function fits(b: Bucket, cost: number): boolean {
  return b.level >= cost * b.period || b.level >= b.capacity;
}

/** Whole units left, never below 0. */
export function remaining(b: Bucket): number {
  return Math.max(0, Math.floor(b.level / b.period));
}

export function msUntilFull(b: Bucket): number {
  return Math.max(0, (b.capacity - b.level) / b.limit);
}

function msUntilFits(b: Bucket, cost: number): number {
  return Math.max(0, (Math.min(cost * b.period, b.capacity) - b.level) / b.limit);
}

function isTokenLimit(key: LimitKey): boolean {
  return key === "tpm" || key === "itpm" || key === "otpm";
}

function costOf(key: LimitKey, req: SimRequest): number {
  switch (key) {
    case "rpm":
    case "rpd":
      return 1;
    case "itpm":
      return req.promptTokens;
    case "otpm":
      return req.maxTokens ?? DEFAULT_MAX_TOKENS_CHARGE;
    case "tpm":
      return req.promptTokens + (req.maxTokens ?? DEFAULT_MAX_TOKENS_CHARGE);
  }
}

function newLimiter(provider: Provider, model: string, limits: ModelLimits, now: number): ModelLimiter | null {
  const keys = PROVIDER_LIMITS[provider].filter((k) => limits[k] !== undefined);
  if (keys.length === 0) return null;
  const buckets: Partial<Record<LimitKey, Bucket>> = {};
  for (const k of keys) buckets[k] = createBucket(limits[k] as number, k === "rpd" ? DAY_MS : MINUTE_MS, now);
  return { provider, model, keys, buckets, counts: { admitted: 0, rate_limited: 0, tokens_charged: 0 } };
}

function decide(limiter: ModelLimiter, req: SimRequest, now: number): Admission {
  let refusedBy: LimitKey | undefined;
  let cost = 0;
  let waitMs = 0;
  for (const k of limiter.keys) {
    const b = limiter.buckets[k] as Bucket;
    refill(b, now);
    const c = costOf(k, req);
    if (fits(b, c)) continue;
    const wait = msUntilFits(b, c);
    if (refusedBy === undefined || wait > waitMs) [refusedBy, cost, waitMs] = [k, c, wait];
  }
  return { limiter, now, refusedBy, cost, waitMs, outputCharged: 0 };
}

function charge(admission: Admission, req: SimRequest): void {
  const { limiter } = admission;
  for (const k of limiter.keys) {
    const b = limiter.buckets[k] as Bucket;
    const c = costOf(k, req);
    b.level -= c * b.period;
    if (isTokenLimit(k)) limiter.counts.tokens_charged += c;
    if (k === "otpm") admission.outputCharged = c;
  }
  limiter.counts.admitted++;
}

/**
 * Adjusts an admitted request's output-token charge (Anthropic otpm) to what the answer really
 * produced, 0 when there is none: Anthropic "estimates OTPM from max_tokens at the start and
 * adjusts it at the end".
 */
export function settle(admission: Admission, outputTokens: number): void {
  const b = admission.limiter.buckets.otpm;
  if (b === undefined || admission.refusedBy !== undefined) return;
  const refund = admission.outputCharged - outputTokens;
  b.level = Math.min(b.capacity, b.level + refund * b.period);
  admission.limiter.counts.tokens_charged -= refund;
  admission.outputCharged = outputTokens;
}

/** `spec` as parsed by parseLimits; undefined when it limits nothing, so callers skip the checks. */
export function createRateLimiter(spec: LimitsSpec, now: () => number = Date.now): RateLimiter | undefined {
  const models = new Map(Object.entries(spec));
  if (models.size === 0) return undefined;
  const any = models.get(ANY_MODEL);
  // null caches "limits configured, but none this provider has".
  const byProvider: Record<Provider, Map<string, ModelLimiter | null>> = { openai: new Map(), anthropic: new Map(), groq: new Map() };
  let rateLimited = 0;

  return {
    lookup(provider, model) {
      const known = byProvider[provider].get(model);
      if (known !== undefined) return known ?? undefined;
      const limits = models.get(model) ?? any;
      if (limits === undefined) return undefined;
      const limiter = newLimiter(provider, model, limits, now());
      byProvider[provider].set(model, limiter);
      return limiter ?? undefined;
    },
    admit(limiter, req) {
      const admission = decide(limiter, req, now());
      if (admission.refusedBy === undefined) charge(admission, req);
      else { limiter.counts.rate_limited++; rateLimited++; }
      return admission;
    },
    snapshot() {
      const limits: [string, LimitCounts][] = [];
      for (const map of Object.values(byProvider)) {
        for (const l of map.values()) if (l) limits.push([`${l.provider}:${l.model}`, { ...l.counts }]);
      }
      return { limits: Object.fromEntries(limits), rate_limited: rateLimited };
    },
    reset() {
      // New limiters start full and at zero; dropping the old ones is the refill.
      for (const map of Object.values(byProvider)) map.clear();
      rateLimited = 0;
    },
  };
}
