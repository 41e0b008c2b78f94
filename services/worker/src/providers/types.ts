import type { ChatTurn, FinishReason, ProviderName, StreamDelta, ToolCall, ToolChoice, ToolSpec, Usage } from "@llmq/shared";
import type { RateLimitInfo } from "../capacity/rate-limit-headers.js";

/**
 * llmq's provider-neutral request and response. Adapters map these to and from each provider's wire types;
 * nothing outside `providers/` sees a wire type or an HTTP status.
 */

/** The name llmq gives the structured answer: the forced tool's name and the json_schema's name. */
export const OUTPUT_NAME = "output";

/** How the model is asked to answer. */
export type OutputMode =
  | { kind: "text" }
  /** OpenAI/Groq structured outputs: `response_format: {type: "json_schema"}`. */
  | { kind: "json_schema"; schema: Record<string, unknown>; strict: boolean }
  /** JSON mode: the schema travels in the instructions. */
  | { kind: "json_object" }
  /** A forced tool call whose input schema is the output schema (must have an object root). */
  | { kind: "tool"; name: string; schema: Record<string, unknown> };

export interface ProviderRequest {
  /** The provider's model name (the registry's `upstream`). */
  model: string;
  /** Instructions placed before `messages` (Anthropic: the `system` field). */
  system?: string;
  /** In order; may contain system messages (conversations) and tool turns, which each adapter maps its own way. */
  messages: ChatTurn[];
  maxTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  output: OutputMode;
  /** The client's own tools (chat jobs), passed through; never combined with `output.kind === "tool"`. */
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
}

export interface ProviderResponse {
  /** The assistant's text, or for `tool` mode the tool input as JSON text. */
  content: string;
  /** Calls of the client's tools (never llmq's own forced tool, whose input is `content`). */
  toolCalls?: ToolCall[] | undefined;
  finishReason: FinishReason;
  usage: Usage;
  /** What the response's rate-limit headers said, when it had any. */
  rateLimit?: RateLimitInfo | undefined;
}

export interface ProviderAdapter {
  readonly name: ProviderName;
  /** True when this adapter talks to the bundled simulator. */
  readonly simulated: boolean;
  /** One provider call, no retries (BullMQ owns retries). Rejects with the SDK's own error classes. */
  call(req: ProviderRequest, signal: AbortSignal): Promise<ProviderResponse>;
  /**
   * The same call as a stream: `onDelta` gets each piece of text or tool call as the provider sends it, and the
   * promise resolves with the whole answer (the pieces joined, the finish reason, usage) as `call` would.
   */
  stream(req: ProviderRequest, signal: AbortSignal, onDelta: (delta: StreamDelta) => void): Promise<ProviderResponse>;
  /** Releases the connection pool. */
  close(): Promise<void>;
}
