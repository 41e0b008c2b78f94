import Groq from "groq-sdk";
import type { ProviderConfig } from "@llmq/shared";
import { fromChatCompletion, readChatStream, toChatCompletionsBody, type ChatCompletionChunk } from "./chat-completions.js";
import { parseRateLimitHeaders } from "../capacity/rate-limit-headers.js";
import type { AdapterOptions } from "./registry.js";
import { sdkClientOptions } from "./sdk-options.js";
import { jobSignalOptions } from "./transport.js";
import type { ProviderAdapter } from "./types.js";

/**
 * Groq through the official `groq-sdk`. Groq speaks the Chat Completions format, so the mapping is shared
 * with OpenAI's (chat-completions.ts). https://console.groq.com/docs/api-reference#chat-create
 */
export function createGroqAdapter(provider: ProviderConfig, opts: AdapterOptions): ProviderAdapter {
  const { transport, options } = sdkClientOptions(provider, opts);
  const client = new Groq(options);
  return {
    name: "groq",
    simulated: provider.simulated,
    async call(req, signal) {
      const { data, response } = await client.chat.completions.create(toChatCompletionsBody(req), jobSignalOptions(signal)).withResponse();
      return { ...fromChatCompletion(data, req), rateLimit: parseRateLimitHeaders("groq", response.headers) };
    },
    async stream(req, signal, onDelta) {
      const body = { ...toChatCompletionsBody(req), stream: true as const };
      const { data, response } = await client.chat.completions.create(body, { signal }).withResponse();
      const res = await readChatStream(data as AsyncIterable<ChatCompletionChunk>, req, onDelta);
      return { ...res, rateLimit: parseRateLimitHeaders("groq", response.headers) };
    },
    close: () => transport.close(),
  };
}
