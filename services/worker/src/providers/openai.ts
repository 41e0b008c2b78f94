import OpenAI from "openai";
import type { ProviderConfig } from "@llmq/shared";
import { fromChatCompletion, readChatStream, toChatCompletionsBody, type ChatCompletionChunk } from "./chat-completions.js";
import { parseRateLimitHeaders } from "../capacity/rate-limit-headers.js";
import type { AdapterOptions } from "./registry.js";
import { sdkClientOptions } from "./sdk-options.js";
import { jobSignalOptions } from "./transport.js";
import type { ProviderAdapter } from "./types.js";

/**
 * OpenAI through the official `openai` SDK, Chat Completions API.
 * https://platform.openai.com/docs/api-reference/chat/create
 * Retries are BullMQ's (`maxRetries: 0`); the transport is llmq's (see transport.ts).
 */
export function createOpenAIAdapter(provider: ProviderConfig, opts: AdapterOptions): ProviderAdapter {
  const { transport, options } = sdkClientOptions(provider, opts);
  const client = new OpenAI({ ...options, organization: null, project: null });
  return {
    name: "openai",
    simulated: provider.simulated,
    async call(req, signal) {
      const { data, response } = await client.chat.completions.create(toChatCompletionsBody(req), jobSignalOptions(signal)).withResponse();
      return { ...fromChatCompletion(data, req), rateLimit: parseRateLimitHeaders("openai", response.headers) };
    },
    async stream(req, signal, onDelta) {
      const body = { ...toChatCompletionsBody(req), stream: true as const, stream_options: { include_usage: true } };
      const { data, response } = await client.chat.completions.create(body, { signal }).withResponse();
      const res = await readChatStream(data as AsyncIterable<ChatCompletionChunk>, req, onDelta);
      return { ...res, rateLimit: parseRateLimitHeaders("openai", response.headers) };
    },
    close: () => transport.close(),
  };
}
