import type { ChatPayload, ChatResultFields } from "./chat.js";
import type { ProviderName } from "./providers.js";

/**
 * The job catalog: every job type llmq runs, with the payload the API enqueues and the result the worker
 * stores. Both sides are typed from this one map, so an unknown job type or a missing processor is a
 * compile error.
 */
export const JOB_TYPES = ["structured", "unstructured", "conversation", "chat"] as const;
export type JobType = (typeof JOB_TYPES)[number];

export type Role = "system" | "user" | "assistant";
export interface ChatMessage {
  role: Role;
  content: string;
}

/** Fields every job payload carries. Set by the API, never by the client. */
export interface JobEnvelope {
  /** llmq model id (registry key), e.g. "gpt-4". */
  model: string;
  provider: ProviderName;
  /** The API key's name (config `api.keys[].name`); ownership checks compare this. Never the key itself. */
  owner: string;
  request_id: string;
  /** epoch ms when the API accepted the request. */
  created_at: number;
  max_tokens?: number;
  temperature?: number;
  /** When set, the worker also stores the result under this cache key. */
  cache_key?: string;
  batch_id?: string;
  custom_id?: string;
  /** A batch item's retry round (absent: its first run); part of its BullMQ job id. */
  batch_round?: number;
  /**
   * Attempts a batch item already had in a batch job of several items (batches/batch-group.ts in the worker),
   * or a request in a sync job of several requests (contracts/sync-group.ts), when it moved to a job of its
   * own (a retryable failure, a wait for capacity): its attempts go on counting from there.
   */
  batch_attempts?: number;
  /**
   * Set by DELETE /jobs/{id} (epoch ms) on the queued job before it stores the cancelled record: a worker that
   * takes the job afterwards reads it in the job it was handed and never calls the provider. This is how a
   * job's first start learns of a cancellation without a Redis round trip of its own.
   */
  cancelled_at?: number;
}

export interface UnstructuredPayload extends JobEnvelope {
  type: "unstructured";
  /** Normalised by the API: a `prompt` becomes one user message. */
  messages: ChatMessage[];
  system?: string;
}

export interface StructuredPayload extends JobEnvelope {
  type: "structured";
  messages: ChatMessage[];
  system?: string;
  schema: Record<string, unknown> | boolean;
  /** sha256 of the schema's canonical JSON; the validator cache key on both sides. */
  schema_hash: string;
}

export interface ConversationPayload extends JobEnvelope {
  type: "conversation";
  messages: ChatMessage[];
}

export interface JobPayloads {
  structured: StructuredPayload;
  unstructured: UnstructuredPayload;
  conversation: ConversationPayload;
  chat: ChatPayload;
}
export type JobPayload = JobPayloads[JobType];

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export interface Timings {
  queued_ms: number;
  provider_ms: number;
  validate_ms: number;
  total_ms: number;
}

export type FinishReason = "stop" | "length" | "tool_use" | "content_filter" | "error";

interface ResultBase {
  id: string;
  model: string;
  provider: ProviderName;
  simulated: boolean;
  finish_reason: FinishReason;
  usage: Usage;
  attempts: number;
  repairs: number;
  cached: boolean;
  timings: Timings;
}

export interface StructuredResult extends ResultBase {
  type: "structured";
  output: unknown;
}
export interface UnstructuredResult extends ResultBase {
  type: "unstructured";
  output: string;
}
export interface ConversationResult extends ResultBase {
  type: "conversation";
  output: string;
  message: { role: "assistant"; content: string };
  context: { messages_in: number; messages_sent: number; truncated: number };
}

export interface ChatResult extends ResultBase, ChatResultFields {
  type: "chat";
}

export interface JobResults {
  structured: StructuredResult;
  unstructured: UnstructuredResult;
  conversation: ConversationResult;
  chat: ChatResult;
}
export type JobResult = JobResults[JobType];
