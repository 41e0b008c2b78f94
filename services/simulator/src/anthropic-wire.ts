// Renders an Answer as Anthropic's Messages wire format: a `message` object, or the SSE event
// sequence message_start, content_block_start, ping, content_block_delta…, content_block_stop,
// message_delta (stop_reason, usage), message_stop.
// https://docs.anthropic.com/en/api/messages  https://docs.anthropic.com/en/docs/build-with-claude/streaming
import type { Answer } from "./answer.js";
import type { SimRequest } from "./sim-request.js";
import { splitPieces, type StreamPiece } from "./stream-pieces.js";

export interface AnthropicMeta {
  id: string;
  model: string;
  toolUseId: string;
}

function stopReason(answer: Answer): string {
  if (answer.kind === "tool") return "tool_use";
  return answer.finish === "length" ? "max_tokens" : "end_turn";
}

function usage(req: SimRequest, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: req.promptTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

function block(answer: Answer, meta: AnthropicMeta): Record<string, unknown> {
  if (answer.kind === "text") return { type: "text", text: answer.text };
  return { type: "tool_use", id: meta.toolUseId, name: answer.name, input: answer.input };
}

export function anthropicMessage(req: SimRequest, answer: Answer, meta: AnthropicMeta): Record<string, unknown> {
  return {
    id: meta.id,
    type: "message",
    role: "assistant",
    model: meta.model,
    content: [block(answer, meta)],
    stop_reason: stopReason(answer),
    stop_sequence: null,
    usage: usage(req, answer.outputTokens),
  };
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

export function anthropicEvents(req: SimRequest, answer: Answer, meta: AnthropicMeta): StreamPiece[] {
  const start = {
    type: "message_start",
    message: {
      id: meta.id, type: "message", role: "assistant", model: meta.model, content: [],
      stop_reason: null, stop_sequence: null, usage: usage(req, 1),
    },
  };
  const pieces: StreamPiece[] = [{ data: event("message_start", start), tokens: 0 }];
  const empty = answer.kind === "text" ? { type: "text", text: "" } : { ...block(answer, meta), input: {} };
  pieces.push({ data: event("content_block_start", { type: "content_block_start", index: 0, content_block: empty }), tokens: 0 });
  pieces.push({ data: event("ping", { type: "ping" }), tokens: 0 });
  const text = answer.kind === "text" ? answer.text : answer.args;
  const prefix = answer.kind === "text"
    ? '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
    : '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":';
  for (const piece of splitPieces(text)) {
    pieces.push({ data: event("content_block_delta", `${prefix}${JSON.stringify(piece)}}}`), tokens: piece.length / 4 });
  }
  pieces.push({ data: event("content_block_stop", { type: "content_block_stop", index: 0 }), tokens: 0 });
  const delta = {
    type: "message_delta",
    delta: { stop_reason: stopReason(answer), stop_sequence: null },
    usage: { output_tokens: answer.outputTokens },
  };
  pieces.push({ data: event("message_delta", delta), tokens: 0 });
  pieces.push({ data: event("message_stop", { type: "message_stop" }), tokens: 0 });
  return pieces;
}
