import type { Config, RateLimits } from "../config/config.js";
import type { Keys } from "../contracts/keys.js";
import type { ProviderName } from "../contracts/providers.js";
import type { ModelInfo } from "../models/model-registry.js";

/**
 * What a provider counts against a model's limits, one bucket per dimension:
 * - `rq`: requests per minute (every provider);
 * - `tk`: tokens per minute, OpenAI and Groq: the prompt plus `max_tokens`, charged at admission and kept;
 * - `in` / `out`: Anthropic's input and output tokens per minute; output is charged as `max_tokens` at
 *   admission and refunded down to the real output afterwards, as Anthropic does.
 */
export const CAPACITY_DIMS = ["rq", "tk", "in", "out"] as const;
export type CapacityDim = (typeof CAPACITY_DIMS)[number];

export const PROVIDER_DIMS: Record<ProviderName, readonly CapacityDim[]> = {
  openai: ["rq", "tk"],
  groq: ["rq", "tk"],
  anthropic: ["rq", "in", "out"],
};

/** The configuration field (and metric label) of each dimension. */
export const DIM_LIMIT_FIELD: Record<CapacityDim, keyof RateLimits> = { rq: "rpm", tk: "tpm", in: "itpm", out: "otpm" };
export const DIM_LABEL: Record<CapacityDim, string> = { rq: "requests", tk: "tokens", in: "input_tokens", out: "output_tokens" };

/** The limits configured for a model: its own (models file) over its provider's (`OPENAI_TPM`, …). */
export function configuredLimits(config: Config, model: ModelInfo): RateLimits {
  return { ...config.providers[model.provider].limits, ...model.limits };
}

/** True when anything is configured for this model (else only learned limits apply). */
export function hasConfiguredLimits(limits: RateLimits): boolean {
  return Object.values(limits).some((v) => v !== undefined);
}

/** One hash per provider model holds its buckets, learned limits and backoff (capacity-scripts.ts). */
export function capacityKey(keys: Keys, provider: ProviderName, model: string): string {
  return keys.custom(`capacity:${provider}:${model}`);
}

/** The buckets' burst in ms (CAPACITY_BURST_S), as the scripts take it. */
export function bucketBurstMs(burstS: number): number {
  return Math.round(burstS * 1000);
}

/**
 * The part of the burst llmq's buckets leave empty: 100 ms of refill (at most half the burst). llmq charges a
 * call when it admits it, the provider when the call arrives, a little later; while both buckets are full that
 * lag is refill the provider throws away and llmq would keep, so a burst from full would run ahead of the
 * provider. Measured: without it, about 1 call in 60 of a burst drew a 429 from a simulator at the same limits.
 */
export function bucketHeadroomMs(burstMs: number): number {
  return Math.round(Math.min(100, burstMs / 2));
}

/** The scripts' burst argument: "burst:headroom" in ms. */
export function bucketBurstArg(burstS: number): string {
  const burst = bucketBurstMs(burstS);
  return `${burst}:${bucketHeadroomMs(burst)}`;
}
