import { AppError, countTokens, MESSAGE_OVERHEAD_TOKENS, tokensWithin, type ChatMessage, type TokenizerName } from "@llmq/shared";

/**
 * Makes a request fit the model's window: `context_window − max_tokens` tokens for the prompt.
 * Invariants: system messages are always kept; the last user turn (and anything after it) is always kept;
 * only the oldest other turns are dropped, and a kept history never starts with an orphaned assistant turn.
 * If even that does not fit, the job fails with CONTEXT_LENGTH_EXCEEDED (retrying cannot help).
 * Counting is lazy: `tokensWithin` proves most requests fit from their byte length alone.
 */
export interface FitOptions {
  contextWindow: number;
  maxTokens: number;
  tokenizer: TokenizerName;
  /** Instructions sent beside the messages (the job's `system`, structured-output instructions). */
  system?: string | undefined;
  /** Conversations may drop old turns; other job types must fit as they are. */
  truncate: boolean;
}

export interface Fitted {
  messages: ChatMessage[];
  context: { messages_in: number; messages_sent: number; truncated: number };
}

export function fitContext(messages: ChatMessage[], opts: FitOptions): Fitted {
  const budget = opts.contextWindow - opts.maxTokens;
  const all = opts.system === undefined ? messages : [{ role: "system" as const, content: opts.system }, ...messages];
  const whole = budget > 0 ? tokensWithin(all, budget, opts.tokenizer) : { tokens: Number.POSITIVE_INFINITY, fits: false };
  const unchanged = { messages, context: { messages_in: messages.length, messages_sent: messages.length, truncated: 0 } };
  if (whole.fits) return unchanged;
  if (budget <= 0) throw exceeded(`max_tokens (${opts.maxTokens}) leaves no room in the model's ${opts.contextWindow}-token context window`, opts, budget);
  if (!opts.truncate) throw exceeded(`the prompt is about ${whole.tokens} tokens; the model's window leaves ${budget} after max_tokens`, opts, budget);

  const cost = (m: ChatMessage): number => MESSAGE_OVERHEAD_TOKENS + countTokens(m.content, opts.tokenizer);
  let used = 3 + (opts.system === undefined ? 0 : cost({ role: "system", content: opts.system }));
  for (const m of messages) if (m.role === "system") used += cost(m);

  const lastUser = lastIndexWhere(messages, (m) => m.role === "user");
  const mustKeepFrom = lastUser >= 0 ? lastUser : lastIndexWhere(messages, (m) => m.role !== "system");
  let keepFrom = messages.length;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as ChatMessage;
    if (m.role === "system") continue;
    const next = used + cost(m);
    if (next > budget) break;
    used = next;
    keepFrom = i;
  }
  if (mustKeepFrom >= 0 && keepFrom > mustKeepFrom) {
    throw exceeded(`the last user message alone does not fit in the ${budget} tokens the model's window leaves after max_tokens`, opts, budget);
  }
  // A reply whose question was dropped only confuses the model.
  const droppedAny = messages.slice(0, keepFrom).some((m) => m.role !== "system");
  while (droppedAny && keepFrom < mustKeepFrom && messages[keepFrom]?.role !== "user") keepFrom++;
  const kept = messages.filter((m, i) => m.role === "system" || i >= keepFrom);
  return { messages: kept, context: { messages_in: messages.length, messages_sent: kept.length, truncated: messages.length - kept.length } };
}

function lastIndexWhere<T>(items: readonly T[], pred: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i] as T)) return i;
  return -1;
}

function exceeded(message: string, opts: FitOptions, budget: number): AppError {
  return new AppError("CONTEXT_LENGTH_EXCEEDED", message, {
    details: { context_window: opts.contextWindow, max_tokens: opts.maxTokens, prompt_budget: Math.max(0, budget) },
  });
}
