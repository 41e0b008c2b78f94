import type { ChatMessage, FinishReason, ProviderName, Usage } from "@llmq/shared";
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
  /** In order; may contain system messages (conversations), which each adapter maps its own way. */
  messages: ChatMessage[];
  maxTokens: number;
  temperature?: number;
  output: OutputMode;
}

export interface ProviderResponse {
  /** The assistant's text, or for `tool` mode the tool input as JSON text. */
  content: string;
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
  /** Releases the connection pool. */
  close(): Promise<void>;
}
