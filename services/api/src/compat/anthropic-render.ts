import type { ChatResult, FinishReason, Usage } from "@llmq/shared";

/**
 * llmq's chat results in Anthropic's Messages shapes: the `message` object, and the events of a stream
 * (message_start, content_block_start/delta/stop, message_delta, message_stop).
 * https://docs.anthropic.com/en/api/messages  https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * The message id carries the llmq job id (`msg_<job id>`).
 */
const STOP: Record<FinishReason, string> = { stop: "end_turn", length: "max_tokens", tool_use: "tool_use", content_filter: "refusal", error: "end_turn" };

export function messageId(jobId: string): string {
  return `msg_${jobId}`;
}

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown };

function parseInput(args: string): unknown {
  try {
    return JSON.parse(args === "" ? "{}" : args);
  } catch {
    return {};
  }
}

export function anthropicMessage(result: ChatResult): Record<string, unknown> {
  const content: Block[] = [];
  const m = result.message;
  if (m.content !== null && (m.content !== "" || m.tool_calls === undefined)) content.push({ type: "text", text: m.content });
  for (const c of m.tool_calls ?? []) content.push({ type: "tool_use", id: c.id, name: c.name, input: parseInput(c.arguments) });
  return {
    id: messageId(result.id),
    type: "message",
    role: "assistant",
    model: result.model,
    content,
    stop_reason: STOP[result.finish_reason],
    stop_sequence: null,
    usage: { input_tokens: result.usage.input_tokens, output_tokens: result.usage.output_tokens },
  };
}

export type SseEvent = { event: string; data: Record<string, unknown> };

/**
 * The events of one streamed message. Blocks are opened as pieces arrive: text pieces go to an open text
 * block, each tool call gets its own tool_use block; a block is closed when another one opens or at the end.
 */
export class EventWriter {
  private open: { kind: "text" } | { kind: "tool"; index: number } | undefined;
  private blocks = 0;

  constructor(
    private readonly jobId: string,
    private readonly model: string,
  ) {}

  start(): SseEvent[] {
    const message = { id: messageId(this.jobId), type: "message", role: "assistant", model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
    return [{ event: "message_start", data: { type: "message_start", message } }, { event: "ping", data: { type: "ping" } }];
  }

  text(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.open?.kind !== "text") out.push(...this.close(), this.begin({ kind: "text" }, { type: "text", text: "" }));
    out.push({ event: "content_block_delta", data: { type: "content_block_delta", index: this.blocks - 1, delta: { type: "text_delta", text } } });
    return out;
  }

  tool(index: number, args: string, id?: string, name?: string): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.open?.kind !== "tool" || this.open.index !== index) {
      out.push(...this.close(), this.begin({ kind: "tool", index }, { type: "tool_use", id: id ?? "", name: name ?? "", input: {} }));
    }
    if (args !== "") out.push({ event: "content_block_delta", data: { type: "content_block_delta", index: this.blocks - 1, delta: { type: "input_json_delta", partial_json: args } } });
    return out;
  }

  end(reason: FinishReason, usage: Usage): SseEvent[] {
    return [
      ...this.close(),
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: STOP[reason], stop_sequence: null }, usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens } } },
      { event: "message_stop", data: { type: "message_stop" } },
    ];
  }

  private begin(open: NonNullable<EventWriter["open"]>, block: Record<string, unknown>): SseEvent {
    this.open = open;
    return { event: "content_block_start", data: { type: "content_block_start", index: this.blocks++, content_block: block } };
  }

  private close(): SseEvent[] {
    if (this.open === undefined) return [];
    this.open = undefined;
    return [{ event: "content_block_stop", data: { type: "content_block_stop", index: this.blocks - 1 } }];
  }
}
