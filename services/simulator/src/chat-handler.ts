// One chat request, from raw body to reply: parse in the provider's format, check its model's rate
// limits, decide a fault, build the answer, render it in the provider's wire format, and send it
// after the configured latency.
import type { ServerResponse } from "node:http";
import { buildAnswer, type Answer } from "./answer.js";
import { anthropicEvents, anthropicMessage } from "./anthropic-wire.js";
import { parseAnthropicRequest } from "./anthropic-request.js";
import type { FaultPlan } from "./fault-plan.js";
import { chatCompletion, chatCompletionChunks, type WireMeta } from "./openai-wire.js";
import { parseOpenAIRequest } from "./openai-request.js";
import { faultReply, malformedJsonReply, problemReply, type Reply } from "./provider-errors.js";
import { rateLimitReply, writeRateLimitHeaders } from "./rate-limit-wire.js";
import { settle, type Admission, type RateLimiter } from "./rate-limits.js";
import { sendJson, sendReply, sendStream, type Scheduler } from "./respond.js";
import { hash32, makeId } from "./rng.js";
import type { ParseResult, Provider, SimRequest } from "./sim-request.js";
import type { StatsBook } from "./stats.js";

export interface ChatContext {
  latencyMs: number;
  tokensPerS: number | null;
  retryAfterMs: number;
  seedHash: number;
  plan: FaultPlan;
  /** Undefined when SIM_LIMITS limits nothing: the request path then skips limits entirely. */
  limits: RateLimiter | undefined;
  stats: StatsBook;
  scheduler: Scheduler;
  /** Holds the response open until the client aborts or the simulator closes. */
  hang(res: ServerResponse): void;
}

/**
 * `created` is fixed and ids derive from the request hash: identical requests get byte-identical
 * bodies, which is what lets tests and load runs compare answers across runs.
 */
export const CREATED_EPOCH_S = 1_735_689_600;

function requestIdHeader(provider: Provider, seed: number): Record<string, string> {
  const id = makeId("req_", seed ^ 0x5f3759df, 24);
  return provider === "anthropic" ? { "request-id": id } : { "x-request-id": id };
}

function parse(provider: Provider, body: unknown): ParseResult {
  return provider === "anthropic" ? parseAnthropicRequest(body) : parseOpenAIRequest(body, provider);
}

function replyLater(ctx: ChatContext, res: ServerResponse, reply: Reply, headers: Record<string, string>): void {
  ctx.stats.status(reply.status);
  ctx.scheduler.after(ctx.latencyMs, () => sendReply(res, reply, headers));
}

/** Checks the request against its model's limits; undefined when the model has none. */
function admit(ctx: ChatContext, provider: Provider, req: SimRequest): Admission | undefined {
  const limiter = ctx.limits?.lookup(provider, req.model);
  return limiter === undefined ? undefined : ctx.limits?.admit(limiter, req);
}

/** Settles an admitted request's output tokens and adds the rate-limit headers as they now stand. */
function finishLimits(admission: Admission | undefined, outputTokens: number, headers: Record<string, string>): void {
  if (admission === undefined) return;
  settle(admission, outputTokens);
  writeRateLimitHeaders(admission, headers);
}

export function handleChat(ctx: ChatContext, provider: Provider, raw: string, res: ServerResponse): void {
  const seed = hash32(raw, ctx.seedHash);
  const headers = requestIdHeader(provider, seed);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    replyLater(ctx, res, malformedJsonReply(provider), headers);
    return;
  }
  const parsed = parse(provider, body);
  if (!parsed.ok) {
    replyLater(ctx, res, problemReply(provider, parsed.problem), headers);
    return;
  }
  const req = parsed.request;
  // Limits are checked before the fault plan rolls, so a refused request consumes no fault.
  const admission = ctx.limits === undefined ? undefined : admit(ctx, provider, req);
  if (admission?.refusedBy !== undefined) {
    replyLater(ctx, res, rateLimitReply(admission), headers);
    return;
  }
  const planned = ctx.plan.next(req.markerSources);
  const fault = planned?.fault;
  if (fault) ctx.stats.fault(fault.kind, planned.source === "marker");
  if (fault?.kind === "hang") {
    finishLimits(admission, 0, headers);
    ctx.hang(res);
    return;
  }
  if (fault && fault.kind !== "invalid-json" && fault.kind !== "bad-schema") {
    finishLimits(admission, 0, headers);
    replyLater(ctx, res, faultReply(provider, fault.kind, req.model, fault.retryAfterMs ?? ctx.retryAfterMs), headers);
    return;
  }
  const answer = buildAnswer(req, seed, fault?.kind);
  finishLimits(admission, answer.outputTokens, headers);
  sendAnswer(ctx, req, answer, seed, res, headers);
}

function sendAnswer(
  ctx: ChatContext, req: SimRequest, answer: Answer, seed: number, res: ServerResponse, headers: Record<string, string>,
): void {
  ctx.stats.status(200);
  if (req.stream) ctx.stats.stream();
  const genMs = ctx.tokensPerS ? (answer.outputTokens / ctx.tokensPerS) * 1000 : 0;
  if (req.provider === "anthropic") {
    const meta = { id: makeId("msg_01", seed, 22), model: req.model, toolUseId: makeId("toolu_01", seed ^ 1, 22) };
    if (req.stream) {
      sendStream(res, anthropicEvents(req, answer, meta), { latencyMs: ctx.latencyMs, tokensPerS: ctx.tokensPerS }, ctx.scheduler, headers);
    } else {
      const text = JSON.stringify(anthropicMessage(req, answer, meta));
      ctx.scheduler.after(ctx.latencyMs + genMs, () => sendJson(res, 200, text, headers));
    }
    return;
  }
  const meta: WireMeta = {
    id: makeId("chatcmpl-", seed, 29),
    created: CREATED_EPOCH_S,
    model: req.model,
    fingerprint: makeId("fp_", seed ^ 2, 10).toLowerCase(),
    groqId: req.provider === "groq" ? makeId("req_", seed ^ 3, 26).toLowerCase() : undefined,
    toolCallId: makeId("call_", seed ^ 4, 24),
  };
  if (req.stream) {
    sendStream(res, chatCompletionChunks(req, answer, meta), { latencyMs: ctx.latencyMs, tokensPerS: ctx.tokensPerS }, ctx.scheduler, headers);
  } else {
    const text = JSON.stringify(chatCompletion(req, answer, meta));
    ctx.scheduler.after(ctx.latencyMs + genMs, () => sendJson(res, 200, text, headers));
  }
}
