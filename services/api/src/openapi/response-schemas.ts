import { ERROR_CODES, JOB_TYPES } from "@llmq/shared";

/**
 * JSON Schemas of the API's responses, for the OpenAPI document only (the request schemas, which the routes
 * validate with, come from @llmq/shared). `$ref`s point into the document's components.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ms = { type: "number", minimum: 0 } as const;

export const RESPONSE_SCHEMAS = {
  ErrorBody: {
    type: "object",
    required: ["code", "message"],
    properties: {
      code: { type: "string", enum: ERROR_CODES },
      message: { type: "string" },
      details: { type: "object", description: "errors (field paths) for INVALID_REQUEST and INVALID_SCHEMA, valid_models for UNKNOWN_MODEL, job_id for a failed job, …" },
      request_id: { type: "string" },
    },
  },
  Error: { type: "object", required: ["error"], properties: { error: ref("ErrorBody") } },
  Usage: {
    type: "object",
    required: ["input_tokens", "output_tokens", "total_tokens"],
    properties: { input_tokens: { type: "integer" }, output_tokens: { type: "integer" }, total_tokens: { type: "integer" } },
  },
  Timings: {
    type: "object",
    required: ["queued_ms", "provider_ms", "validate_ms", "total_ms"],
    properties: { queued_ms: ms, provider_ms: ms, validate_ms: ms, total_ms: ms },
  },
  JobResult: {
    type: "object",
    description: "A finished job's answer: the 200 body of a job route, and `result` when polled.",
    required: ["id", "type", "model", "provider", "simulated", "output", "finish_reason", "usage", "attempts", "repairs", "cached", "timings"],
    properties: {
      id: { type: "string", description: "A UUID; a batch item's id is `batch_…-<index>`, `-r<round>` once its batch was retried." },
      type: { type: "string", enum: JOB_TYPES },
      model: { type: "string" },
      provider: { type: "string", enum: ["openai", "anthropic", "groq"] },
      simulated: { type: "boolean" },
      output: { description: "A string (unstructured, conversation) or a value valid against the request's schema (structured)." },
      finish_reason: { type: "string", enum: ["stop", "length", "tool_use", "content_filter", "error"] },
      usage: ref("Usage"),
      attempts: { type: "integer" },
      repairs: { type: "integer", description: "Structured only: re-asks after output that failed the schema." },
      cached: { type: "boolean" },
      timings: ref("Timings"),
      message: {
        type: "object",
        description: "Conversation only: the next assistant message.",
        properties: { role: { const: "assistant" }, content: { type: "string" } },
      },
      context: {
        type: "object",
        description: "Conversation only: oldest non-system turns dropped to fit the model's window.",
        properties: { messages_in: { type: "integer" }, messages_sent: { type: "integer" }, truncated: { type: "integer" } },
      },
    },
  },
  Job: {
    type: "object",
    required: ["id", "type", "status", "attempts", "created_at"],
    properties: {
      id: { type: "string", description: "A UUID; a batch item's id is `batch_…-<index>`, `-r<round>` once its batch was retried." },
      type: { type: "string", enum: JOB_TYPES },
      status: { type: "string", enum: ["queued", "active", "completed", "failed", "cancelled"] },
      result: ref("JobResult"),
      error: ref("ErrorBody"),
      attempts: { type: "integer" },
      created_at: { type: "integer", description: "epoch ms" },
      started_at: { type: "integer", description: "epoch ms" },
      finished_at: { type: "integer", description: "epoch ms" },
      batch_id: { type: "string", description: "A batch item's batch." },
      custom_id: { type: "string", description: "A batch item's custom_id (once it has a result line)." },
    },
  },
  Schema: {
    type: "object",
    required: ["id", "name", "schema"],
    properties: { id: { type: "string" }, name: { type: ["string", "null"] }, schema: { type: ["object", "boolean"] } },
  },
  Model: {
    type: "object",
    required: ["id", "provider", "context_window", "max_output_tokens", "supports", "available", "simulated"],
    properties: {
      id: { type: "string" },
      provider: { type: "string" },
      context_window: { type: "integer" },
      max_output_tokens: { type: "integer" },
      supports: { type: "object", properties: { structured: { type: "boolean" }, conversation: { type: "boolean" } } },
      available: { type: "boolean" },
      simulated: { type: "boolean" },
    },
  },
  Models: { type: "object", required: ["models"], properties: { models: { type: "array", items: ref("Model") } } },
  Readiness: {
    type: "object",
    required: ["status"],
    properties: {
      status: { type: "string", enum: ["ready", "not_ready", "draining"] },
      redis: { type: "string", enum: ["up", "down"] },
      workers: { type: "integer" },
      reason: { type: "string" },
    },
  },
  Health: {
    type: "object",
    required: ["status"],
    description: "Without a key only `status`.",
    properties: {
      status: { type: "string", enum: ["ok", "degraded", "unavailable"] },
      redis: { type: "string", enum: ["up", "down"] },
      queues: {
        type: "object",
        additionalProperties: {
          type: "object",
          properties: {
            waiting: { type: "integer" }, active: { type: "integer" }, delayed: { type: "integer" }, failed: { type: "integer" }, workers: { type: "integer" },
            worker_names: { type: "array", items: { type: "string" }, description: "Each worker's name in BullMQ: host:pid for llmq's workers." },
          },
        },
      },
      workers: { type: "integer" },
      providers: {
        type: "object",
        description: "Per provider, the models whose capacity buckets have limits (configured or learned from the provider's headers) or a history.",
        additionalProperties: {
          type: "object",
          properties: {
            models: {
              type: "array",
              items: {
                type: "object",
                required: ["model", "buckets", "admitted", "refused", "rate_limited"],
                properties: {
                  model: { type: "string" },
                  buckets: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["limit", "per_minute", "source", "remaining", "capacity"],
                      properties: {
                        limit: { type: "string", enum: ["requests", "tokens", "input_tokens", "output_tokens"] },
                        per_minute: { type: "number" },
                        source: { type: "string", enum: ["configured", "learned"] },
                        remaining: { type: "integer", description: "What the bucket holds now; negative after a request larger than its capacity." },
                        capacity: { type: "integer", description: "CAPACITY_BURST_S seconds of the per-minute limit." },
                      },
                    },
                  },
                  blocked_until: { type: "integer", description: "Set while a provider's 429 holds the model back (ms since the epoch)." },
                  admitted: { type: "integer" },
                  refused: { type: "integer", description: "Times a job was put back to wait for capacity." },
                  rate_limited: { type: "integer", description: "429s received from the provider." },
                },
              },
            },
          },
        },
      },
      version: { type: "string" },
      uptime_s: { type: "integer" },
    },
  },
} as const;
