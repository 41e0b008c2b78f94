import type { ChatTurn, FinishReason, StreamDelta, ToolCall, ToolChoice, Usage } from "@llmq/shared";
import { OUTPUT_NAME, type ProviderRequest, type ProviderResponse } from "./types.js";

/**
 * Request and response mapping for the Chat Completions wire format, which OpenAI and Groq share
 * (Groq's API is OpenAI-compatible). Each adapter passes these bodies to its own SDK.
 * - OpenAI: https://platform.openai.com/docs/api-reference/chat/create
 * - Groq:   https://console.groq.com/docs/api-reference#chat-create
 * The wire types below are the subset llmq sends and reads; they stay inside `providers/`.
 */
type WireMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: WireToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

interface WireToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

type WireToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

export interface ChatCompletionsBody {
  model: string;
  messages: WireMessage[];
  max_completion_tokens: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  response_format?:
    | { type: "json_object" }
    | { type: "json_schema"; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters: Record<string, unknown>; strict?: boolean } }>;
  tool_choice?: WireToolChoice;
}

/** The fields llmq reads from a chat completion; both SDKs' `ChatCompletion` types fit it. */
export interface ChatCompletionsResult {
  choices: Array<{
    finish_reason: string | null;
    message: {
      content: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ id?: string; type: string; function?: { name: string; arguments: string } }> | null;
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
  for (const m of req.messages) messages.push(wireMessage(m));
  const body: ChatCompletionsBody = { model: req.model, messages, max_completion_tokens: req.maxTokens };
  if (req.temperature !== undefined && !FIXED_TEMPERATURE.test(req.model)) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop;
  if (req.tools !== undefined && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: { name: t.name, parameters: t.parameters, ...(t.description !== undefined && { description: t.description }), ...(t.strict !== undefined && { strict: t.strict }) },
    }));
    if (req.toolChoice !== undefined) body.tool_choice = wireToolChoice(req.toolChoice);
  }
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

function wireMessage(m: ChatTurn): WireMessage {
  if (m.role === "tool") return { role: "tool", content: m.content, tool_call_id: m.tool_call_id ?? "" };
  if (m.role === "assistant" && m.tool_calls !== undefined && m.tool_calls.length > 0) {
    return {
      role: "assistant",
      content: m.content === "" ? null : m.content,
      tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}

function wireToolChoice(c: ToolChoice): WireToolChoice {
  return typeof c === "string" ? c : { type: "function", function: { name: c.name } };
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
  const toolCalls = req.output.kind === "tool" ? undefined : clientToolCalls(message?.tool_calls);
  return { content, finishReason, usage: chatUsage(res.usage), ...(toolCalls !== undefined && { toolCalls }) };
}

function clientToolCalls(calls: ChatCompletionsResult["choices"][number]["message"]["tool_calls"]): ToolCall[] | undefined {
  const out: ToolCall[] = [];
  for (const c of calls ?? []) if (c.function !== undefined) out.push({ id: c.id ?? "", name: c.function.name, arguments: c.function.arguments });
  return out.length > 0 ? out : undefined;
}

/** One streamed chunk's fields llmq reads; both SDKs' `ChatCompletionChunk` types fit it. */
export interface ChatCompletionChunk {
  choices: Array<{
    finish_reason?: string | null;
    delta?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> | null;
    };
  }>;
  usage?: ChatCompletionsResult["usage"];
  /** Groq sends usage here on the last chunk. */
  x_groq?: { usage?: ChatCompletionsResult["usage"] } | null;
}

/**
 * Reads a Chat Completions stream: each piece goes to `onDelta` as it arrives, and the pieces are joined into
 * the same ProviderResponse a plain call gives. Pieces of llmq's own forced tool are the structured answer's
 * text, so they are passed on as text.
 */
export async function readChatStream(chunks: AsyncIterable<ChatCompletionChunk>, req: ProviderRequest, onDelta: (d: StreamDelta) => void): Promise<ProviderResponse> {
  const forced = req.output.kind === "tool";
  let content = "";
  let refusal = "";
  let raw: string | null = null;
  let usage: ChatCompletionsResult["usage"] = null;
  const calls: ToolCall[] = [];
  for await (const chunk of chunks) {
    usage = chunk.usage ?? chunk.x_groq?.usage ?? usage;
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    if (choice.finish_reason) raw = choice.finish_reason;
    const d = choice.delta;
    if (d === undefined) continue;
    if (typeof d.content === "string" && d.content !== "") {
      content += d.content;
      onDelta({ text: d.content });
    }
    if (typeof d.refusal === "string") refusal += d.refusal;
    for (const t of d.tool_calls ?? []) {
      const args = t.function?.arguments ?? "";
      if (forced) {
        content += args;
        if (args !== "") onDelta({ text: args });
        continue;
      }
      let call = calls[t.index];
      if (call === undefined) {
        call = calls[t.index] = { id: t.id ?? "", name: t.function?.name ?? "", arguments: "" };
      } else {
        if (t.id) call.id = t.id;
        if (t.function?.name) call.name += t.function.name;
      }
      call.arguments += args;
      onDelta({ tool: { index: t.index, args, ...(t.id !== undefined && { id: t.id }), ...(t.function?.name !== undefined && { name: t.function.name }) } });
    }
  }
  let finishReason = CHAT_FINISH_REASONS[raw ?? "stop"] ?? "stop";
  if (forced && finishReason === "tool_use") finishReason = "stop";
  if (content === "" && refusal !== "") {
    content = refusal;
    finishReason = "content_filter";
  }
  const toolCalls = calls.filter((c) => c !== undefined);
  return { content, finishReason, usage: chatUsage(usage), ...(toolCalls.length > 0 && { toolCalls }) };
}

/** prompt/completion tokens → llmq usage. https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage */
export function chatUsage(u: ChatCompletionsResult["usage"]): Usage {
  const input = u?.prompt_tokens ?? 0;
  const output = u?.completion_tokens ?? 0;
  return { input_tokens: input, output_tokens: output, total_tokens: u?.total_tokens ?? input + output };
}
