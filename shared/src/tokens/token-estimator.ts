import { createRequire } from "node:module";
import type { TokenizerName } from "../models/model-registry.js";
import type { ChatMessage } from "../contracts/job-catalog.js";

/**
 * Token counts for context-window checks. OpenAI models are counted with their own BPE (gpt-tokenizer,
 * pure JS); other providers' models get the cl100k count as an estimate.
 *
 * Fast path: a BPE token is at least one UTF-8 byte, so `bytes <= limit` proves a text fits without
 * tokenizing. Only texts larger than the limit in bytes pay for a real count; the BPE tables (~100 ms to
 * load) are loaded the first time one is needed.
 */
type Counter = (text: string) => number;
const require = createRequire(import.meta.url);
const counters = new Map<TokenizerName, Counter>();

function counter(name: TokenizerName): Counter {
  let c = counters.get(name);
  if (c === undefined) {
    const mod = require(`gpt-tokenizer/cjs/encoding/${name}`) as { countTokens: Counter };
    c = mod.countTokens;
    counters.set(name, c);
  }
  return c;
}

/** Per-message framing tokens, as OpenAI documents for chat models. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function countTokens(text: string, tokenizer: TokenizerName = "cl100k_base"): number {
  return text.length === 0 ? 0 : counter(tokenizer)(text);
}

export function countMessageTokens(messages: readonly ChatMessage[], tokenizer: TokenizerName = "cl100k_base"): number {
  let total = 3;
  for (const m of messages) total += MESSAGE_OVERHEAD_TOKENS + countTokens(m.content, tokenizer);
  return total;
}

/** An upper bound with no tokenizing: bytes plus framing. */
export function tokenUpperBound(messages: readonly ChatMessage[]): number {
  let total = 3;
  for (const m of messages) total += MESSAGE_OVERHEAD_TOKENS + Buffer.byteLength(m.content, "utf8");
  return total;
}

/** The messages' token count if it might exceed `limit`, else the cheap upper bound (which is ≤ limit). */
export function tokensWithin(messages: readonly ChatMessage[], limit: number, tokenizer: TokenizerName): { tokens: number; fits: boolean } {
  const bound = tokenUpperBound(messages);
  if (bound <= limit) return { tokens: bound, fits: true };
  const tokens = countMessageTokens(messages, tokenizer);
  return { tokens, fits: tokens <= limit };
}
