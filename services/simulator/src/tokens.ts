// One token estimate for everything the simulator reports (responses, stream usage, pacing), so
// usage numbers add up the same way on every path. Roughly chars/4, as providers' docs suggest.

/** Chat formats wrap each message in a few control tokens. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3;

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Prompt tokens for a list of message texts, plus any serialized extras (tools, schemas). */
export function estimatePromptTokens(messageTexts: readonly string[], extraChars = 0): number {
  let total = REPLY_PRIMING_TOKENS + Math.ceil(extraChars / 4);
  for (const text of messageTexts) total += estimateTokens(text) + MESSAGE_OVERHEAD_TOKENS;
  return total;
}
