import type { JobType, Usage } from "@llmq/shared";
import type { ProviderRequest, ProviderResponse } from "../providers/types.js";
import type { ProcessorContext } from "./types.js";

/** One timed provider call, counted in metrics. */
export async function callProvider<T extends JobType>(ctx: ProcessorContext<T>, req: ProviderRequest): Promise<{ res: ProviderResponse; ms: number }> {
  const started = performance.now();
  let ok = false;
  try {
    const res = await ctx.adapter.call(req, ctx.signal);
    ok = true;
    ctx.metrics.tokens({ provider: ctx.adapter.name, model: ctx.model.id, input: res.usage.input_tokens, output: res.usage.output_tokens });
    return { res, ms: performance.now() - started };
  } finally {
    ctx.metrics.providerCall({ provider: ctx.adapter.name, model: ctx.model.id, durationMs: performance.now() - started, ok });
  }
}

export function addUsage(a: Usage, b: Usage): Usage {
  return { input_tokens: a.input_tokens + b.input_tokens, output_tokens: a.output_tokens + b.output_tokens, total_tokens: a.total_tokens + b.total_tokens };
}

export const ZERO_USAGE: Usage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };

/** The job's max_tokens, or the type's default, never above what the model can produce. */
export function maxTokensFor(requested: number | undefined, modelMax: number, fallback: number): number {
  return Math.max(1, Math.min(requested ?? fallback, modelMax));
}
