import { setTimeout as sleep } from "node:timers/promises";
import type { JobType, Usage } from "@llmq/shared";
import { CapacityWaitError, DEFAULT_BLOCK_MS, type Ticket } from "../capacity/capacity-gate.js";
import { classifyFailure } from "../providers/classify.js";
import type { ProviderRequest, ProviderResponse } from "../providers/types.js";
import type { StreamSink } from "../streaming/stream-sink.js";
import type { ProcessorContext } from "./types.js";

/**
 * A reserved turn is taken this much late: the turn is computed on Redis's clock, the wait on Node's timers
 * (millisecond-rounded, and able to fire a little early against the wall clock), and the provider starts its
 * own clock when the request arrives. Arriving at the exact millisecond the bucket refills risks a 429;
 * a little late costs nothing, since the next turn is counted from the bucket, not from this call.
 */
export const TURN_MARGIN_MS = 3;

/**
 * One timed provider call, admitted by the capacity buckets first and counted in metrics. A call whose
 * capacity frees up within CAPACITY_HOLD_MS has it reserved and waits for its turn here. A job's first call
 * that would wait longer throws CapacityWaitError (the runner puts the job back in the queue until its turn
 * is near, no attempt spent, no slot held); a later call of the same attempt (a repair turn) waits here
 * instead, so the work already done is not thrown away.
 */
export async function callProvider<T extends JobType>(ctx: ProcessorContext<T>, req: ProviderRequest, stream?: StreamSink): Promise<{ res: ProviderResponse; ms: number }> {
  const ticket = await admit(ctx, req);
  if (ticket.delayMs > 0) await sleep(ticket.delayMs + TURN_MARGIN_MS, undefined, { signal: ctx.signal });
  const started = performance.now();
  let ok = false;
  try {
    const res = stream === undefined ? await ctx.adapter.call(req, ctx.signal) : await ctx.adapter.stream(req, ctx.signal, (d) => stream.push(d));
    ok = true;
    const ms = performance.now() - started;
    ctx.capacity.gate.settleAnswerQuietly(ticket, res, ms);
    ctx.metrics.tokens({ provider: ctx.adapter.name, model: ctx.model.id, input: res.usage.input_tokens, output: res.usage.output_tokens });
    return { res, ms };
  } catch (err) {
    const failure = classifyFailure(err, ctx.adapter.name);
    // Best effort: a Redis hiccup here must not turn the provider's 429 into another kind of failure.
    if (failure.kind === "rate_limited") await ctx.capacity.gate.settleRateLimited(ctx.model, failure.rateLimit, failure.waitMs ?? DEFAULT_BLOCK_MS).catch(() => undefined);
    throw err;
  } finally {
    ctx.metrics.providerCall({ provider: ctx.adapter.name, model: ctx.model.id, durationMs: performance.now() - started, ok });
  }
}

async function admit<T extends JobType>(ctx: ProcessorContext<T>, req: ProviderRequest): Promise<Ticket> {
  for (;;) {
    const admission = await ctx.capacity.gate.acquire(ctx.model, req);
    if (admission.ok) {
      ctx.capacity.admitted++;
      return admission.ticket;
    }
    if (ctx.capacity.admitted === 0) throw new CapacityWaitError(admission.waitMs, admission.limit);
    await sleep(admission.waitMs, undefined, { signal: ctx.signal });
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
