import type { ChatResult, FinishReason, ToolCall, Usage } from "@llmq/shared";

/**
 * llmq's chat results in OpenAI's Chat Completions shapes: the `chat.completion` object, and the
 * `chat.completion.chunk`s of a stream. https://platform.openai.com/docs/api-reference/chat/object
 * The completion id carries the llmq job id (`chatcmpl-<job id>`), so a completion can be looked up as a job.
 */
const FINISH: Record<FinishReason, string> = { stop: "stop", length: "length", tool_use: "tool_calls", content_filter: "content_filter", error: "stop" };

export function completionId(jobId: string): string {
  return `chatcmpl-${jobId}`;
}

export function jobIdOfCompletion(id: string): string {
  return id.startsWith("chatcmpl-") ? id.slice(9) : id;
}

function wireToolCalls(calls: ToolCall[]): Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> {
  return calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
}

function wireUsage(u: Usage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: u.total_tokens };
}

export function chatCompletion(result: ChatResult, createdMs: number): Record<string, unknown> {
  const m = result.message;
  const message: Record<string, unknown> = { role: "assistant", content: m.content, refusal: null, annotations: [] };
  if (m.tool_calls !== undefined) message.tool_calls = wireToolCalls(m.tool_calls);
  return {
    id: completionId(result.id),
    object: "chat.completion",
    created: Math.floor(createdMs / 1000),
    model: result.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[result.finish_reason] }],
    usage: wireUsage(result.usage),
    system_fingerprint: null,
  };
}

/** Builds the chunks of one streamed completion; every chunk shares the id, created and model. */
export class ChunkWriter {
  private readonly head: { id: string; object: "chat.completion.chunk"; created: number; model: string };

  constructor(jobId: string, model: string, createdMs: number) {
    this.head = { id: completionId(jobId), object: "chat.completion.chunk", created: Math.floor(createdMs / 1000), model };
  }

  private chunk(delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> {
    return { ...this.head, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
  }

  role(): Record<string, unknown> {
    return this.chunk({ role: "assistant", content: "", refusal: null });
  }

  text(text: string): Record<string, unknown> {
    return this.chunk({ content: text });
  }

  tool(index: number, args: string, id?: string, name?: string): Record<string, unknown> {
    const call: Record<string, unknown> = { index };
    if (id !== undefined) call.id = id;
    if (id !== undefined || name !== undefined) call.type = "function";
    call.function = name !== undefined ? { name, arguments: args } : { arguments: args };
    return this.chunk({ tool_calls: [call] });
  }

  finish(reason: FinishReason): Record<string, unknown> {
    return this.chunk({}, FINISH[reason]);
  }

  usage(u: Usage): Record<string, unknown> {
    return { ...this.head, system_fingerprint: null, choices: [], usage: wireUsage(u) };
  }
}
