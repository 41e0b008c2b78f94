/**
 * The `chat` job: what the OpenAI- and Anthropic-compatible routes (`/v1/chat/completions`, `/v1/messages`)
 * enqueue. Both APIs' requests are parsed by the API into this one provider-neutral payload, so any model llmq
 * knows answers either API's clients, and the worker never sees either wire format. Tools pass through to the
 * provider; a JSON format runs llmq's structured path (validation against the schema, the repair loop).
 *
 * Streaming: a `stream: true` job writes its pieces to a Redis Stream (`Keys.stream(jobId)`) as the provider
 * sends them; the API relays them. The job's final record stays the one truth for how the answer ended.
 */
import type { ChatMessage, JobEnvelope } from "./job-catalog.js";

export interface ToolCall {
  id: string;
  name: string;
  /** The tool's arguments as JSON text, exactly as the model produced them. */
  arguments: string;
}

/** One turn. `tool` turns answer an assistant turn's `tool_calls` by id. */
export interface ChatTurn {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolSpec {
  name: string;
  description?: string;
  /** The arguments' JSON Schema (OpenAI `parameters`, Anthropic `input_schema`). */
  parameters: Record<string, unknown>;
  strict?: boolean;
}

/** `required` is Anthropic's `any`. */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

/** How the answer is asked for; JSON formats run the structured path. */
export type ChatFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown> | boolean; strict: boolean; schema_hash: string };

export interface ChatPayload extends JobEnvelope {
  type: "chat";
  messages: ChatTurn[];
  tools?: ToolSpec[];
  tool_choice?: ToolChoice;
  format?: ChatFormat;
  stop?: string[];
  top_p?: number;
  /** Write the answer's pieces to the job's stream as they arrive. */
  stream?: boolean;
}

export interface ChatResultFields {
  /** The text, or for a JSON format the parsed value (validated against the schema). */
  output: unknown;
  message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[] };
}

/**
 * One entry of a job's stream. Fields are flat strings (XADD field/value pairs):
 * - `a`: the attempt that wrote it (a retried attempt streams again from the start);
 * - `t`: text piece; or `i` (tool call index) with `id`/`n` (name, first piece only) and `g` (arguments piece).
 */
export type StreamDelta = { text: string } | { tool: { index: number; id?: string; name?: string; args: string } };

export function encodeStreamDelta(attempt: number, d: StreamDelta): string[] {
  if ("text" in d) return ["a", String(attempt), "t", d.text];
  const f = ["a", String(attempt), "i", String(d.tool.index), "g", d.tool.args];
  if (d.tool.id !== undefined) f.push("id", d.tool.id);
  if (d.tool.name !== undefined) f.push("n", d.tool.name);
  return f;
}

export function decodeStreamDelta(fields: readonly string[]): { attempt: number; delta: StreamDelta } | undefined {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i] as string, fields[i + 1] as string);
  const attempt = Number(m.get("a") ?? 1);
  const text = m.get("t");
  if (text !== undefined) return { attempt, delta: { text } };
  const index = m.get("i");
  if (index === undefined) return undefined;
  const id = m.get("id");
  const name = m.get("n");
  return { attempt, delta: { tool: { index: Number(index), args: m.get("g") ?? "", ...(id !== undefined && { id }), ...(name !== undefined && { name }) } } };
}

/** How long a streamed job's pieces stay readable (a reconnecting client resumes within this). */
export const STREAM_TTL_S = 3600;

/** Turns as the token estimate counts them: a tool turn as a user turn, tool calls as the JSON they carry. */
export function turnsAsMessages(turns: readonly ChatTurn[]): ChatMessage[] {
  return turns.map((t) => ({
    role: t.role === "tool" ? "user" : t.role,
    content: t.tool_calls === undefined ? t.content : `${t.content}${JSON.stringify(t.tool_calls)}`,
  }));
}
