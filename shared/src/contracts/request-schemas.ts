/**
 * The JSON Schemas (2020-12) of the request bodies the API accepts. One source: the API compiles them once to
 * validate requests, and the same objects are the OpenAPI document's request schemas; batch items reuse them.
 * Every object says `additionalProperties: false`, so a client can never set job options, priorities, base
 * URLs or provider headers. Limits that depend on config or on the model (messages count, max_tokens against
 * the model's maximum, context window) are checked by the API after these. No `$ref`s: each schema stands alone,
 * both for ajv and inside the OpenAPI document (where `#/...` would resolve against the document's root).
 */
import { OPENAI_CHAT_REQUEST_SCHEMA } from "./compat-schemas.js";

export type JsonSchema = Readonly<Record<string, unknown>>;

export const CHAT_MESSAGE_SCHEMA = {
  type: "object",
  description: "One chat turn.",
  required: ["role", "content"],
  additionalProperties: false,
  properties: {
    role: { type: "string", enum: ["system", "user", "assistant"] },
    content: { type: "string" },
  },
} as const satisfies JsonSchema;

const model = { type: "string", minLength: 1, maxLength: 200, description: "A model id from GET /api/v1/models." } as const;
const prompt = { type: "string", minLength: 1, description: "Shorthand for one user message." } as const;
const messages = { type: "array", minItems: 1, items: CHAT_MESSAGE_SCHEMA, description: "The conversation so far, oldest first." } as const;
const system = { type: "string", description: "System instructions, sent before the messages." } as const;
const maxTokens = { type: "integer", minimum: 1, description: "Most tokens to generate; at most the model's max_output_tokens." } as const;
const temperature = { type: "number", minimum: 0, maximum: 2 } as const;
const cache = {
  type: "boolean",
  description: "Answer an identical earlier request (same key, model, messages, system, schema and parameters) from the response cache.",
} as const;

export const UNSTRUCTURED_REQUEST_SCHEMA = {
  title: "UnstructuredRequest",
  type: "object",
  required: ["model"],
  additionalProperties: false,
  properties: { model, prompt, messages, system, max_tokens: maxTokens, temperature, cache },
  oneOf: [{ required: ["prompt"] }, { required: ["messages"] }],
} as const satisfies JsonSchema;

export const STRUCTURED_REQUEST_SCHEMA = {
  title: "StructuredRequest",
  type: "object",
  required: ["model"],
  additionalProperties: false,
  properties: {
    model,
    prompt,
    messages,
    system,
    schema: { type: ["object", "boolean"], description: "The JSON Schema the output must be valid against." },
    schema_id: { type: "string", minLength: 1, maxLength: 100, description: "The id of a schema registered with POST /api/v1/schemas." },
    max_tokens: maxTokens,
    temperature,
    cache,
  },
  allOf: [
    { oneOf: [{ required: ["prompt"] }, { required: ["messages"] }] },
    { oneOf: [{ required: ["schema"] }, { required: ["schema_id"] }] },
  ],
} as const satisfies JsonSchema;

export const CONVERSATION_REQUEST_SCHEMA = {
  title: "ConversationRequest",
  type: "object",
  required: ["model", "messages"],
  additionalProperties: false,
  properties: { model, messages, max_tokens: maxTokens, temperature, cache },
} as const satisfies JsonSchema;

export const SCHEMA_REGISTRATION_SCHEMA = {
  title: "SchemaRegistration",
  type: "object",
  required: ["schema"],
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 200 },
    schema: { type: ["object", "boolean"], description: "A JSON Schema (draft 2020-12 unless `$schema` says draft-07)." },
  },
} as const satisfies JsonSchema;

/** Request body schema per job type: the job routes and the batch items share them. */
export const JOB_REQUEST_SCHEMAS = {
  unstructured: UNSTRUCTURED_REQUEST_SCHEMA,
  structured: STRUCTURED_REQUEST_SCHEMA,
  conversation: CONVERSATION_REQUEST_SCHEMA,
} as const;

/** The bodies these schemas admit, as the API sees them after validation. */
export interface JobRequestBody {
  model: string;
  prompt?: string;
  messages?: { role: "system" | "user" | "assistant"; content: string }[];
  system?: string;
  schema?: Record<string, unknown> | boolean;
  schema_id?: string;
  max_tokens?: number;
  temperature?: number;
  cache?: boolean;
}

export interface SchemaRegistrationBody {
  name?: string;
  schema: Record<string, unknown> | boolean;
}

/**
 * One item of a batch: `body` is the body of the route `type` names (`chat`: an OpenAI Chat Completions body,
 * as POST /v1/chat/completions takes it), checked against that route's schema
 * (the `allOf` below), so a batch item is refused exactly where a single request would be.
 */
export const BATCH_ITEM_SCHEMA = {
  title: "BatchItem",
  type: "object",
  required: ["custom_id", "type", "body"],
  additionalProperties: false,
  properties: {
    custom_id: { type: "string", minLength: 1, maxLength: 200, description: "The caller's id for this item; unique within the batch, repeated on its result line." },
    type: { type: "string", enum: ["structured", "unstructured", "conversation", "chat"], description: "Which route's body `body` is." },
    body: { type: "object", description: "The request body of POST /api/v1/{type}, or for `chat` of POST /v1/chat/completions." },
  },
  allOf: [
    { if: { properties: { type: { const: "unstructured" } } }, then: { properties: { body: UNSTRUCTURED_REQUEST_SCHEMA } } },
    { if: { properties: { type: { const: "structured" } } }, then: { properties: { body: STRUCTURED_REQUEST_SCHEMA } } },
    { if: { properties: { type: { const: "conversation" } } }, then: { properties: { body: CONVERSATION_REQUEST_SCHEMA } } },
    { if: { properties: { type: { const: "chat" } } }, then: { properties: { body: OPENAI_CHAT_REQUEST_SCHEMA } } },
  ],
} as const satisfies JsonSchema;

/**
 * POST /api/v1/batches as JSON. As `application/x-ndjson` the body is one BatchItem per line (no metadata).
 * The item count limit (BATCH_MAX_ITEMS) is config, so it is checked by the API, not here.
 */
export const BATCH_REQUEST_SCHEMA = {
  title: "BatchRequest",
  type: "object",
  required: ["requests"],
  additionalProperties: false,
  properties: {
    requests: { type: "array", minItems: 1, items: BATCH_ITEM_SCHEMA, description: "The items, at most BATCH_MAX_ITEMS (default 10,000)." },
    metadata: {
      type: "object",
      maxProperties: 16,
      additionalProperties: { type: "string", maxLength: 512 },
      description: "Up to 16 string values kept with the batch and returned with it.",
    },
  },
} as const satisfies JsonSchema;

export interface BatchItemBody {
  custom_id: string;
  type: "structured" | "unstructured" | "conversation" | "chat";
  body: JobRequestBody;
}

export interface BatchRequestBody {
  requests: BatchItemBody[];
  metadata?: Record<string, string>;
}
