import Anthropic from "@anthropic-ai/sdk";
import type { ChatMessage, FinishReason, ProviderConfig, Usage } from "@llmq/shared";
import { parseRateLimitHeaders } from "../capacity/rate-limit-headers.js";
import type { AdapterOptions } from "./registry.js";
import { sdkClientOptions } from "./sdk-options.js";
import type { ProviderAdapter, ProviderRequest, ProviderResponse } from "./types.js";

/**
 * Anthropic through the official `@anthropic-ai/sdk`, Messages API.
 * https://docs.anthropic.com/en/api/messages
 * Differences from Chat Completions that this file absorbs:
 * - system instructions go in the top-level `system` field, never in `messages`;
 * - `messages` alternate user/assistant, so consecutive same-role turns are merged;
 * - `max_tokens` is required (the processors always set it);
 * - structured output is a forced tool call whose `input` is already an object.
 */
interface WireMessage {
  role: "user" | "assistant";
  content: string;
}

interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: WireMessage[];
  temperature?: number;
  tools?: Array<{ name: string; description: string; input_schema: { type: "object"; [k: string]: unknown } }>;
  tool_choice?: { type: "tool"; name: string };
  output_config?: { format: { type: "json_schema"; schema: Record<string, unknown> } };
}

interface MessagesResult {
  stop_reason: string | null;
  content: Array<{ type: string; text?: string; name?: string; input?: unknown }>;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null };
}

/** stop_reason → llmq FinishReason. https://docs.anthropic.com/en/api/messages#response-stop-reason */
export const ANTHROPIC_STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_use",
  refusal: "content_filter",
};

export function toMessagesBody(req: ProviderRequest): MessagesBody {
  const system: string[] = req.system !== undefined && req.system !== "" ? [req.system] : [];
  const messages: WireMessage[] = [];
  for (const m of req.messages) {
    if (m.role === "system") system.push(m.content);
    else appendTurn(messages, m);
  }
  const body: MessagesBody = { model: req.model, max_tokens: req.maxTokens, messages };
  if (system.length > 0) body.system = system.join("\n\n");
  if (req.temperature !== undefined) body.temperature = Math.min(1, req.temperature);
  const out = req.output;
  if (out.kind === "tool") {
    body.tools = [{ name: out.name, description: "Return the answer as this tool's input.", input_schema: out.schema as { type: "object" } }];
    body.tool_choice = { type: "tool", name: out.name };
  } else if (out.kind === "json_schema") {
    body.output_config = { format: { type: "json_schema", schema: out.schema } };
  }
  return body;
}

function appendTurn(messages: WireMessage[], m: ChatMessage): void {
  const role = m.role === "assistant" ? "assistant" : "user";
  const last = messages[messages.length - 1];
  if (last !== undefined && last.role === role) last.content = `${last.content}\n\n${m.content}`;
  else messages.push({ role, content: m.content });
}

export function fromMessagesResult(res: MessagesResult, req: ProviderRequest): ProviderResponse {
  let finishReason = ANTHROPIC_STOP_REASONS[res.stop_reason ?? "end_turn"] ?? "stop";
  let content = "";
  const out = req.output;
  const tool = out.kind === "tool" ? res.content.find((b) => b.type === "tool_use" && b.name === out.name) : undefined;
  if (tool !== undefined) {
    content = JSON.stringify(tool.input ?? null);
    if (finishReason === "tool_use") finishReason = "stop";
  } else {
    for (const b of res.content) if (b.type === "text" && typeof b.text === "string") content += b.text;
  }
  return { content, finishReason, usage: anthropicUsage(res.usage) };
}

/** Input counts cached tokens too. https://docs.anthropic.com/en/api/messages#response-usage */
export function anthropicUsage(u: MessagesResult["usage"]): Usage {
  const input = u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
  return { input_tokens: input, output_tokens: u.output_tokens, total_tokens: input + u.output_tokens };
}

export function createAnthropicAdapter(provider: ProviderConfig, opts: AdapterOptions): ProviderAdapter {
  const { transport, options } = sdkClientOptions(provider, opts);
  const client = new Anthropic(options);
  return {
    name: "anthropic",
    simulated: provider.simulated,
    async call(req, signal) {
      const { data, response } = await client.messages.create(toMessagesBody(req), { signal }).withResponse();
      return { ...fromMessagesResult(data as MessagesResult, req), rateLimit: parseRateLimitHeaders("anthropic", response.headers) };
    },
    close: () => transport.close(),
  };
}
