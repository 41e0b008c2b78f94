import { fitContext } from "../context/fit-context.js";
import { callProvider, maxTokensFor } from "./call-provider.js";
import { DEFAULT_TEXT_MAX_TOKENS } from "./unstructured.js";
import type { Processor } from "./types.js";

/** The next assistant turn; the oldest non-system turns are dropped to fit the model's window. */
export const processConversation: Processor<"conversation"> = async (ctx) => {
  const { payload, model } = ctx;
  const maxTokens = maxTokensFor(payload.max_tokens, model.max_output_tokens, DEFAULT_TEXT_MAX_TOKENS);
  const fitted = fitContext(payload.messages, { contextWindow: model.context_window, maxTokens, tokenizer: model.tokenizer, truncate: true });
  const { res, ms } = await callProvider(ctx, {
    model: model.upstream,
    messages: fitted.messages,
    maxTokens,
    ...(payload.temperature === undefined ? {} : { temperature: payload.temperature }),
    output: { kind: "text" },
  });
  return {
    fields: { output: res.content, message: { role: "assistant", content: res.content }, context: fitted.context },
    finishReason: res.finishReason,
    usage: res.usage,
    repairs: 0,
    providerMs: ms,
    validateMs: 0,
  };
};
