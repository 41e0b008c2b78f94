import type { FinishReason, Usage } from "@llmq/shared";
import { OUTPUT_NAME, type ProviderRequest, type ProviderResponse } from "./types.js";

/**
 * Request and response mapping for the Chat Completions wire format, which OpenAI and Groq share
 * (Groq's API is OpenAI-compatible). Each adapter passes these bodies to its own SDK.
 * - OpenAI: https://platform.openai.com/docs/api-reference/chat/create
 * - Groq:   https://console.groq.com/docs/api-reference#chat-create
 * The wire types below are the subset llmq sends and reads; they stay inside `providers/`.
 */
interface WireMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatCompletionsBody {
  model: string;
  messages: WireMessage[];
  max_completion_tokens: number;
  temperature?: number;
  response_format?:
    | { type: "json_object" }
    | { type: "json_schema"; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  tools?: Array<{ type: "function"; function: { name: string; description: string; parameters: Record<string, unknown> } }>;
  tool_choice?: { type: "function"; function: { name: string } };
}

/** The fields llmq reads from a chat completion; both SDKs' `ChatCompletion` types fit it. */
export interface ChatCompletionsResult {
  choices: Array<{
    finish_reason: string | null;
    message: {
      content: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ type: string; function?: { name: string; arguments: string } }> | null;
    };
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

/** finish_reason → llmq FinishReason. https://platform.openai.com/docs/api-reference/chat/object */
export const CHAT_FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "content_filter",
};

// OpenAI's reasoning models accept only the default temperature.
const FIXED_TEMPERATURE = /^(o\d|gpt-5)/;

export function toChatCompletionsBody(req: ProviderRequest): ChatCompletionsBody {
  const messages: WireMessage[] = [];
  if (req.system !== undefined && req.system !== "") messages.push({ role: "system", content: req.system });
  for (const m of req.messages) messages.push({ role: m.role, content: m.content });
  const body: ChatCompletionsBody = { model: req.model, messages, max_completion_tokens: req.maxTokens };
  if (req.temperature !== undefined && !FIXED_TEMPERATURE.test(req.model)) body.temperature = req.temperature;
  const out = req.output;
  if (out.kind === "json_object") body.response_format = { type: "json_object" };
  else if (out.kind === "json_schema") {
    body.response_format = { type: "json_schema", json_schema: { name: OUTPUT_NAME, schema: out.schema, strict: out.strict } };
  } else if (out.kind === "tool") {
    body.tools = [{ type: "function", function: { name: out.name, description: "Return the answer as this function's arguments.", parameters: out.schema } }];
    body.tool_choice = { type: "function", function: { name: out.name } };
  }
  return body;
}

export function fromChatCompletion(res: ChatCompletionsResult, req: ProviderRequest): ProviderResponse {
  const choice = res.choices[0];
  const message = choice?.message;
  const raw = choice?.finish_reason ?? "stop";
  let finishReason = CHAT_FINISH_REASONS[raw] ?? "stop";
  let content = message?.content ?? "";
  if (req.output.kind === "tool") {
    const name = req.output.name;
    const call = message?.tool_calls?.find((c) => c.function?.name === name) ?? message?.tool_calls?.[0];
    // A forced call is llmq's own mechanism, not a tool the client asked for: it finishes as "stop".
    if (call?.function !== undefined) content = call.function.arguments;
    if (finishReason === "tool_use") finishReason = "stop";
  }
  if (content === "" && message?.refusal) {
    content = message.refusal;
    finishReason = "content_filter";
  }
  return { content, finishReason, usage: chatUsage(res.usage) };
}

/** prompt/completion tokens → llmq usage. https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage */
export function chatUsage(u: ChatCompletionsResult["usage"]): Usage {
  const input = u?.prompt_tokens ?? 0;
  const output = u?.completion_tokens ?? 0;
  return { input_tokens: input, output_tokens: output, total_tokens: u?.total_tokens ?? input + output };
}
