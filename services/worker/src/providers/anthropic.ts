import Anthropic from "@anthropic-ai/sdk";
import type { ChatTurn, FinishReason, ProviderConfig, StreamDelta, ToolCall, ToolChoice, Usage } from "@llmq/shared";
import { parseRateLimitHeaders } from "../capacity/rate-limit-headers.js";
import type { AdapterOptions } from "./registry.js";
import { sdkClientOptions } from "./sdk-options.js";
import { jobSignalOptions } from "./transport.js";
import type { ProviderAdapter, ProviderRequest, ProviderResponse } from "./types.js";

/**
 * Anthropic through the official `@anthropic-ai/sdk`, Messages API.
 * https://docs.anthropic.com/en/api/messages
 * Differences from Chat Completions that this file absorbs:
 * - system instructions go in the top-level `system` field, never in `messages`;
 * - `messages` alternate user/assistant, so consecutive same-role turns are merged;
 * - `max_tokens` is required (the processors always set it);
 * - structured output is a forced tool call whose `input` is already an object;
 * - a tool call is a `tool_use` block of the assistant's turn, and its answer a `tool_result` block of the next
 *   user turn, where Chat Completions has `tool_calls` and `tool` messages.
 */
type WireBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string };

interface WireMessage {
  role: "user" | "assistant";
  content: string | WireBlock[];
}

type WireToolChoice = { type: "auto" | "any" | "none" } | { type: "tool"; name: string };

interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: WireMessage[];
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  tools?: Array<{ name: string; description?: string; input_schema: { type: "object"; [k: string]: unknown } }>;
  tool_choice?: WireToolChoice;
  output_config?: { format: { type: "json_schema"; schema: Record<string, unknown> } };
}

interface MessagesResult {
  stop_reason: string | null;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
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
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) body.stop_sequences = req.stop;
  if (req.tools !== undefined && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({ name: t.name, input_schema: t.parameters as { type: "object" }, ...(t.description !== undefined && { description: t.description }) }));
    if (req.toolChoice !== undefined) body.tool_choice = wireToolChoice(req.toolChoice);
  }
  const out = req.output;
  if (out.kind === "tool") {
    body.tools = [{ name: out.name, description: "Return the answer as this tool's input.", input_schema: out.schema as { type: "object" } }];
    body.tool_choice = { type: "tool", name: out.name };
  } else if (out.kind === "json_schema") {
    body.output_config = { format: { type: "json_schema", schema: out.schema } };
  }
  return body;
}

function wireToolChoice(c: ToolChoice): WireToolChoice {
  if (c === "required") return { type: "any" };
  return typeof c === "string" ? { type: c } : { type: "tool", name: c.name };
}

/** Plain turns stay strings (the common case); a turn with tool blocks, or merged into one, becomes blocks. */
function appendTurn(messages: WireMessage[], m: ChatTurn): void {
  const role = m.role === "assistant" ? "assistant" : "user";
  const blocks = turnBlocks(m);
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== role) {
    messages.push({ role, content: blocks.length === 1 && blocks[0]?.type === "text" ? blocks[0].text : blocks });
    return;
  }
  if (typeof last.content === "string" && blocks.length === 1 && blocks[0]?.type === "text") {
    last.content = `${last.content}\n\n${blocks[0].text}`;
    return;
  }
  const prior: WireBlock[] = typeof last.content === "string" ? [{ type: "text", text: last.content }] : last.content;
  last.content = [...prior, ...blocks];
}

function turnBlocks(m: ChatTurn): WireBlock[] {
  if (m.role === "tool") return [{ type: "tool_result", tool_use_id: m.tool_call_id ?? "", content: m.content }];
  const blocks: WireBlock[] = m.content === "" && m.tool_calls !== undefined ? [] : [{ type: "text", text: m.content }];
  for (const c of m.tool_calls ?? []) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parseArguments(c.arguments) });
  return blocks;
}

/** Tool arguments are JSON text in llmq (as in Chat Completions); Anthropic wants the object. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text === "" ? "{}" : text);
  } catch {
    return {};
  }
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
  const toolCalls: ToolCall[] = [];
  if (out.kind !== "tool") {
    for (const b of res.content) if (b.type === "tool_use") toolCalls.push({ id: b.id ?? "", name: b.name ?? "", arguments: JSON.stringify(b.input ?? {}) });
  }
  return { content, finishReason, usage: anthropicUsage(res.usage), ...(toolCalls.length > 0 && { toolCalls }) };
}

/** The stream events llmq reads. https://docs.anthropic.com/en/docs/build-with-claude/streaming */
interface StreamEvent {
  type: string;
  index?: number;
  message?: { usage?: MessagesResult["usage"] };
  content_block?: { type: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: { output_tokens?: number };
}

/**
 * Reads a Messages stream into deltas and the same ProviderResponse a plain call gives. Tool calls are numbered
 * by their order among the tool_use blocks (Chat Completions' `index`), not by block index. The input JSON of
 * llmq's own forced tool is the structured answer's text.
 */
export async function readMessagesStream(events: AsyncIterable<StreamEvent>, req: ProviderRequest, onDelta: (d: StreamDelta) => void): Promise<ProviderResponse> {
  const out = req.output;
  let usage: MessagesResult["usage"] = { input_tokens: 0, output_tokens: 0 };
  let stop: string | null = null;
  let content = "";
  const calls: ToolCall[] = [];
  const blockTool = new Map<number, number>();
  let forcedBlock = -1;
  for await (const ev of events) {
    if (ev.type === "message_start" && ev.message?.usage) usage = { ...ev.message.usage };
    else if (ev.type === "content_block_start" && ev.content_block?.type === "tool_use") {
      const index = ev.index ?? 0;
      if (out.kind === "tool" && ev.content_block.name === out.name) forcedBlock = index;
      else {
        const n = calls.push({ id: ev.content_block.id ?? "", name: ev.content_block.name ?? "", arguments: "" }) - 1;
        blockTool.set(index, n);
        onDelta({ tool: { index: n, id: ev.content_block.id ?? "", name: ev.content_block.name ?? "", args: "" } });
      }
    } else if (ev.type === "content_block_delta" && ev.delta !== undefined) {
      const index = ev.index ?? 0;
      if (ev.delta.type === "text_delta" && typeof ev.delta.text === "string") {
        if (out.kind === "tool") continue;
        content += ev.delta.text;
        onDelta({ text: ev.delta.text });
      } else if (ev.delta.type === "input_json_delta" && typeof ev.delta.partial_json === "string") {
        const piece = ev.delta.partial_json;
        if (index === forcedBlock) {
          content += piece;
          if (piece !== "") onDelta({ text: piece });
          continue;
        }
        const n = blockTool.get(index);
        const call = n === undefined ? undefined : calls[n];
        if (call === undefined || n === undefined) continue;
        call.arguments += piece;
        onDelta({ tool: { index: n, args: piece } });
      }
    } else if (ev.type === "message_delta") {
      if (ev.delta?.stop_reason) stop = ev.delta.stop_reason;
      if (ev.usage?.output_tokens !== undefined) usage = { ...usage, output_tokens: ev.usage.output_tokens };
    }
  }
  let finishReason = ANTHROPIC_STOP_REASONS[stop ?? "end_turn"] ?? "stop";
  if (out.kind === "tool" && forcedBlock >= 0 && finishReason === "tool_use") finishReason = "stop";
  for (const c of calls) if (c.arguments === "") c.arguments = "{}";
  return { content, finishReason, usage: anthropicUsage(usage), ...(calls.length > 0 && { toolCalls: calls }) };
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
      const { data, response } = await client.messages.create(toMessagesBody(req), jobSignalOptions(signal)).withResponse();
      return { ...fromMessagesResult(data as MessagesResult, req), rateLimit: parseRateLimitHeaders("anthropic", response.headers) };
    },
    async stream(req, signal, onDelta) {
      const { data, response } = await client.messages.create({ ...toMessagesBody(req), stream: true } as Anthropic.MessageCreateParamsStreaming, { signal }).withResponse();
      const res = await readMessagesStream(data as AsyncIterable<StreamEvent>, req, onDelta);
      return { ...res, rateLimit: parseRateLimitHeaders("anthropic", response.headers) };
    },
    close: () => transport.close(),
  };
}
