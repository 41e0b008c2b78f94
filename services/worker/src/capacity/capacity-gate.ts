import type { RedisConnection } from "@llmq/shared";
import {
  bucketBurstArg,
  CAPACITY_SCRIPTS,
  CAPACITY_TTL_S,
  DIM_LABEL,
  DIM_LIMIT_FIELD,
  PROVIDER_DIMS,
  capacityKey,
  configuredLimits,
  hasConfiguredLimits,
  type CapacityDim,
  type Config,
  type Keys,
  type Logger,
  type ModelInfo,
  type ProviderName,
  type RateLimits,
} from "@llmq/shared";
import type { WorkerMetrics } from "../metrics.js";
import type { ProviderRequest, ProviderResponse } from "../providers/types.js";
import type { RateLimitInfo } from "./rate-limit-headers.js";

/**
 * The worker's side of the capacity buckets (the scripts and their invariants are in @llmq/shared
 * capacity-scripts.ts). Invariants kept here:
 * - every provider call of a gated model is admitted by ACQUIRE first, charged with what the provider will
 *   count (prompt estimate + max_tokens for OpenAI and Groq; input, and output as max_tokens, for Anthropic),
 *   and settled afterwards with what the provider really counted (usage) and what its headers say remains;
 * - a model is gated when limits are configured for it, when its buckets in Redis hold limits another worker
 *   learned (looked at on this process's first call of the model), or once this process has seen its
 *   provider send rate-limit headers or a 429 for it. Otherwise no Redis command is spent on it: the bundled
 *   simulator without limits costs one script per model per process, and a real provider (which always
 *   sends headers) is gated from its first answer on;
 * - the prompt estimate is chars/4 plus framing, as providers estimate for rate limits, scaled by this
 *   model's observed ratio of counted to estimated prompt tokens.
 */
export interface Ticket {
  model: ModelInfo;
  gated: boolean;
  /** Charged per dimension at admission (empty when not gated). */
  charged: Partial<Record<CapacityDim, number>>;
  promptEstimate: number;
  rawPrompt: number;
  maxTokens: number;
  /** Capacity is reserved for this call from now + delayMs: it waits that long first (at most CAPACITY_HOLD_MS). */
  delayMs: number;
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; waitMs: number; limit: string };

/** A job's first provider call found its model's capacity short: the runner puts the job back for waitMs. */
export class CapacityWaitError extends Error {
  constructor(
    readonly waitMs: number,
    readonly limit: string,
  ) {
    super(`waiting ${waitMs} ms for ${limit} capacity`);
    this.name = "CapacityWaitError";
  }
}

export interface CapacityGateDeps {
  config: Config;
  redis: RedisConnection;
  keys: Keys;
  metrics: WorkerMetrics;
  logger: Logger;
  provider: ProviderName;
}

/** A 429 without any retry time: the model waits this long. */
export const DEFAULT_BLOCK_MS = 1_000;
/** The longest a job waits for output tokens before looking again (refunds from calls in flight free them sooner). */
export const REFUND_RECHECK_MS = 1_000;
const RATIO_MIN = 0.25;
const RATIO_MAX = 4;

export class CapacityGate {
  /** Models this process knows to be limited (configured, learned, or the provider said so). */
  private readonly seen = new Set<string>();
  /** Models whose buckets this process has looked at once and found without any limit. */
  private readonly unlimited = new Set<string>();
  private readonly configured = new Map<string, RateLimits>();
  private readonly ratios = new Map<string, number>();
  private readonly dims: readonly CapacityDim[];
  private readonly burstArg: string;

  constructor(private readonly deps: CapacityGateDeps) {
    this.dims = PROVIDER_DIMS[deps.provider];
    this.burstArg = bucketBurstArg(deps.config.worker.capacityBurstS);
  }

  isGated(model: ModelInfo): boolean {
    return this.seen.has(model.id) || !this.unlimited.has(model.id);
  }

  /** The model's configured limits, worked out once. */
  private limitsOf(model: ModelInfo): RateLimits {
    let limits = this.configured.get(model.id);
    if (limits === undefined) {
      limits = configuredLimits(this.deps.config, model);
      this.configured.set(model.id, limits);
      if (hasConfiguredLimits(limits)) this.seen.add(model.id);
    }
    return limits;
  }

  async acquire(model: ModelInfo, req: ProviderRequest): Promise<Admission> {
    if (!this.isGated(model)) return { ok: true, ticket: { model, gated: false, charged: {}, promptEstimate: 0, rawPrompt: 0, maxTokens: req.maxTokens, delayMs: 0 } };
    const rawPrompt = rawPromptTokens(req);
    const promptEstimate = Math.ceil(rawPrompt * (this.ratios.get(model.id) ?? 1));
    const charged = this.costs(promptEstimate, req.maxTokens);
    const limits = this.limitsOf(model);
    const args: (string | number)[] = [this.burstArg, CAPACITY_TTL_S, this.deps.config.worker.capacityHoldMs];
    for (const dim of this.dims) args.push(dim, limits[DIM_LIMIT_FIELD[dim]] ?? 0, charged[dim] ?? 0);
    const res = (await CAPACITY_SCRIPTS.acquire.run(this.deps.redis, [this.key(model)], args)) as [number, number, string, ...(number | string)[]];
    const [ok, waitMs, short] = res;
    const remaining = this.remainingByLabel(res.slice(3));
    // No limit in any bucket and no backoff: until the provider says otherwise, this process skips the script.
    if (ok === 1 && Object.keys(remaining).length === 0 && !this.seen.has(model.id)) this.unlimited.add(model.id);
    else if (Object.keys(remaining).length > 0) this.seen.add(model.id);
    const { provider } = this.deps;
    if (ok !== 1) {
      const backoff = short === "backoff";
      const limit = backoff ? "backoff" : DIM_LABEL[short as CapacityDim];
      // Come back when the wait has shrunk to half the hold time: then the call, and the others put back
      // with it, can reserve their turns (coming back at the very edge of the hold would turn most of them
      // away again). Output tokens charged as max_tokens are mostly refunded when the calls in flight
      // answer, so their wait is an upper bound: look again within REFUND_RECHECK_MS.
      let comeBackMs = backoff ? waitMs : Math.max(1, waitMs - this.deps.config.worker.capacityHoldMs / 2);
      if (short === "out") comeBackMs = Math.min(comeBackMs, REFUND_RECHECK_MS);
      this.deps.metrics.capacity({ provider, model: model.id, event: "refused", limit, waitMs: comeBackMs, remaining });
      return { ok: false, waitMs: comeBackMs, limit };
    }
    this.deps.metrics.capacity({ provider, model: model.id, event: "admitted", charged: this.byLabel(charged), remaining, ...(waitMs > 0 ? { waitMs } : {}) });
    return { ok: true, ticket: { model, gated: true, charged, promptEstimate, rawPrompt, maxTokens: req.maxTokens, delayMs: waitMs } };
  }

  /**
   * After a call that got an answer: correct the charge with the provider's usage and sync with its
   * headers. Not awaited by the caller's result (errors are logged): the job's answer does not depend on it.
   */
  settleAnswer(ticket: Ticket, res: ProviderResponse, elapsedMs: number): Promise<void> {
    const info = res.rateLimit;
    if (info !== undefined) this.seen.add(ticket.model.id);
    if (ticket.gated && ticket.rawPrompt > 0 && res.usage.input_tokens > 0) this.learnRatio(ticket.model.id, res.usage.input_tokens / ticket.rawPrompt);
    if (!ticket.gated && info === undefined) return Promise.resolve();
    const deltas: Partial<Record<CapacityDim, number>> = {};
    if (ticket.gated) {
      const promptDelta = res.usage.input_tokens - ticket.promptEstimate;
      if (this.deps.provider === "anthropic") {
        deltas.in = promptDelta;
        deltas.out = res.usage.output_tokens - ticket.maxTokens;
      } else {
        deltas.tk = promptDelta;
      }
    }
    const blockMs = info?.daily?.remaining === 0 ? (info.daily.resetMs ?? DEFAULT_BLOCK_MS) : 0;
    return this.settle(ticket.model, deltas, info, elapsedMs, blockMs, false);
  }

  /** settleAnswer for callers that do not wait for it: a failure is logged, never thrown. */
  settleAnswerQuietly(ticket: Ticket, res: ProviderResponse, elapsedMs: number): void {
    this.settleAnswer(ticket, res, elapsedMs).catch((err: unknown) => this.deps.logger.warn({ model: ticket.model.id, err: (err as Error).message }, "capacity settle failed; the provider's headers correct the buckets on the next answer"));
  }

  /** After a 429: the model waits `waitMs` in every worker, and its buckets drop to what the provider reports. */
  async settleRateLimited(model: ModelInfo, info: RateLimitInfo | undefined, waitMs: number): Promise<void> {
    this.seen.add(model.id);
    this.deps.metrics.capacity({ provider: this.deps.provider, model: model.id, event: "rate_limited", remaining: {} });
    await this.settle(model, {}, info, 0, Math.max(1, waitMs), true);
  }

  /** When the provider last answered this model (ms, any worker), or 0. */
  async lastAnsweredAt(model: ModelInfo): Promise<number> {
    return Number((await this.deps.redis.hget(this.key(model), "answered_at")) ?? 0);
  }

  private async settle(model: ModelInfo, deltas: Partial<Record<CapacityDim, number>>, info: RateLimitInfo | undefined, elapsedMs: number, blockMs: number, rateLimited: boolean): Promise<void> {
    const limits = this.limitsOf(model);
    const args: (string | number)[] = [this.burstArg, CAPACITY_TTL_S, Math.round(blockMs), rateLimited ? 1 : 0];
    for (const dim of this.dims) {
      const b = info?.dims[dim];
      // What remained when the provider admitted the call, refilled over the time the answer took.
      const remaining = b?.remaining === undefined ? -1 : b.remaining + (b.limit === undefined ? 0 : Math.floor((elapsedMs * b.limit) / 60_000));
      args.push(dim, limits[DIM_LIMIT_FIELD[dim]] ?? 0, Math.round(deltas[dim] ?? 0), b?.limit ?? 0, remaining);
    }
    const levels = (await CAPACITY_SCRIPTS.settle.run(this.deps.redis, [this.key(model)], args)) as (number | string)[];
    this.deps.metrics.capacity({ provider: this.deps.provider, model: model.id, event: "settled", remaining: this.remainingByLabel(levels) });
  }

  private costs(prompt: number, maxTokens: number): Partial<Record<CapacityDim, number>> {
    return this.deps.provider === "anthropic" ? { rq: 1, in: prompt, out: maxTokens } : { rq: 1, tk: prompt + maxTokens };
  }

  private learnRatio(model: string, observed: number): void {
    const r = Math.min(RATIO_MAX, Math.max(RATIO_MIN, observed));
    const prev = this.ratios.get(model);
    this.ratios.set(model, prev === undefined ? r : prev * 0.8 + r * 0.2);
  }

  private key(model: ModelInfo): string {
    return capacityKey(this.deps.keys, this.deps.provider, model.id);
  }

  private byLabel(values: Partial<Record<CapacityDim, number>>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const dim of this.dims) if (values[dim] !== undefined) out[DIM_LABEL[dim]] = values[dim] as number;
    return out;
  }

  private remainingByLabel(levels: readonly (number | string)[]): Record<string, number> {
    const out: Record<string, number> = {};
    this.dims.forEach((dim, i) => {
      const v = levels[i];
      if (typeof v === "number") out[DIM_LABEL[dim]] = v;
    });
    return out;
  }
}

/** chars/4 per text, 4 framing tokens per message and 3 for the reply, plus a structured output's schema. */
export function rawPromptTokens(req: ProviderRequest): number {
  let chars = req.system?.length ?? 0;
  let tokens = 3 + (req.system ? 4 : 0);
  for (const m of req.messages) {
    chars += m.content.length;
    tokens += 4;
  }
  const out = req.output;
  if (out.kind === "json_schema" || out.kind === "tool") chars += JSON.stringify(out.schema).length;
  return tokens + Math.ceil(chars / 4);
}
