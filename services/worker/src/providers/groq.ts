import Groq from "groq-sdk";
import type { ProviderConfig } from "@llmq/shared";
import { fromChatCompletion, toChatCompletionsBody } from "./chat-completions.js";
import type { AdapterOptions } from "./registry.js";
import { createTransport } from "./transport.js";
import type { ProviderAdapter } from "./types.js";

/**
 * Groq through the official `groq-sdk`. Groq speaks the Chat Completions format, so the mapping is shared
 * with OpenAI's (chat-completions.ts). https://console.groq.com/docs/api-reference#chat-create
 */
export function createGroqAdapter(provider: ProviderConfig, opts: AdapterOptions): ProviderAdapter {
  const transport = createTransport({ connections: provider.concurrency, timeoutMs: opts.timeoutMs });
  const client = new Groq({
    apiKey: provider.apiKey ?? opts.simulatedKey,
    baseURL: provider.baseUrl,
    maxRetries: 0,
    timeout: opts.timeoutMs,
    fetch: transport.fetch,
    logger: opts.sdkLogger,
    logLevel: "warn",
  });
  return {
    name: "groq",
    simulated: provider.simulated,
    async call(req, signal) {
      const res = await client.chat.completions.create(toChatCompletionsBody(req), { signal });
      return fromChatCompletion(res, req);
    },
    close: () => transport.close(),
  };
}
