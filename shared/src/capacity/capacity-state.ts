import type { RateLimits } from "../config/config.js";
import { DIM_LABEL, DIM_LIMIT_FIELD, type CapacityDim } from "./capacity-limits.js";

/** One bucket as operators see it (GET /api/v1/health, metrics). */
export interface BucketView {
  /** requests, tokens, input_tokens or output_tokens. */
  limit: string;
  per_minute: number;
  source: "configured" | "learned";
  /** What the bucket holds now (refilled to now); negative after a request larger than its capacity. */
  remaining: number;
  capacity: number;
}

export interface ModelCapacityView {
  model: string;
  buckets: BucketView[];
  /** Set while a 429 holds the model back (ms since the epoch). */
  blocked_until?: number;
  admitted: number;
  refused: number;
  rate_limited: number;
}

/**
 * A model's capacity hash (capacity-scripts.ts) read back for display, refilled to `now`, with the scripts'
 * bucket size (`burstMs` less `headroomMs`, capacity-limits.ts). Read-only: the
 * scripts own every write. Returns undefined when the model has no limit at all and no history.
 */
export function viewCapacity(model: string, dims: readonly CapacityDim[], configured: RateLimits, hash: Record<string, string>, now: number, burstMs: number, headroomMs = 0): ModelCapacityView | undefined {
  const buckets: BucketView[] = [];
  for (const dim of dims) {
    const conf = configured[DIM_LIMIT_FIELD[dim]] ?? 0;
    const learned = Number(hash[`${dim}:lim`] ?? 0);
    const perMinute = learned > 0 && (conf <= 0 || learned < conf) ? learned : conf;
    if (perMinute <= 0) continue;
    const capacity = Math.max((perMinute * (burstMs - headroomMs)) / 60_000, 1);
    const lvl = Number(hash[`${dim}:lvl`]);
    const ts = Number(hash[`${dim}:ts`]);
    const level = Number.isFinite(lvl) && Number.isFinite(ts) ? Math.min(capacity, lvl + (Math.max(0, now - ts) * perMinute) / 60_000) : capacity;
    buckets.push({ limit: DIM_LABEL[dim], per_minute: perMinute, source: perMinute === conf ? "configured" : "learned", remaining: Math.floor(level), capacity: Math.floor(capacity) });
  }
  const blocked = Number(hash.blocked_until ?? 0);
  const counts = { admitted: Number(hash.admitted ?? 0), refused: Number(hash.refused ?? 0), rate_limited: Number(hash.rate_limited ?? 0) };
  if (buckets.length === 0 && counts.admitted + counts.refused + counts.rate_limited === 0 && !(blocked > now)) return undefined;
  return { model, buckets, ...(blocked > now ? { blocked_until: blocked } : {}), ...counts };
}
