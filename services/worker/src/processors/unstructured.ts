import { fitContext } from "../context/fit-context.js";
import { callProvider, maxTokensFor } from "./call-provider.js";
import type { Processor } from "./types.js";

export const DEFAULT_TEXT_MAX_TOKENS = 1024;

export const processUnstructured: Processor<"unstructured"> = async (ctx) => {
  const { payload, model } = ctx;
  const maxTokens = maxTokensFor(payload.max_tokens, model.max_output_tokens, DEFAULT_TEXT_MAX_TOKENS);
  fitContext(payload.messages, { contextWindow: model.context_window, maxTokens, tokenizer: model.tokenizer, system: payload.system, truncate: false });
  const { res, ms } = await callProvider(ctx, {
    model: model.upstream,
    ...(payload.system === undefined ? {} : { system: payload.system }),
    messages: payload.messages,
    maxTokens,
    ...(payload.temperature === undefined ? {} : { temperature: payload.temperature }),
    output: { kind: "text" },
  });
  return { fields: { output: res.content }, finishReason: res.finishReason, usage: res.usage, repairs: 0, providerMs: ms, validateMs: 0 };
};
