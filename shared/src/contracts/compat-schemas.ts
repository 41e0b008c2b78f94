type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * The request bodies of the OpenAI- and Anthropic-compatible routes, as JSON Schemas (2020-12): the API
 * compiles them once, the OpenAPI document shows them, and `chat` batch items reuse the OpenAI one. They follow
 * each provider's published request shape; fields llmq accepts but does not forward are listed in
 * OPENAI_IGNORED_FIELDS / ANTHROPIC_IGNORED_FIELDS (sent by common clients, harmless to drop). Anything else is
 * refused by name, as the providers refuse an unrecognized argument.
 * - https://platform.openai.com/docs/api-reference/chat/create
 * - https://docs.anthropic.com/en/api/messages
 */
const name = { type: "string", minLength: 1, maxLength: 64, pattern: "^[a-zA-Z0-9_-]+$" } as const;
const jsonSchemaValue = { type: ["object", "boolean"] } as const;

const openaiContent = {
  description: "Text, or text parts. Image, audio and file parts are refused.",
  anyOf: [
    { type: "string" },
    { type: "null" },
    { type: "array", items: { type: "object", required: ["type"], properties: { type: { type: "string" }, text: { type: "string" } } } },
  ],
} as const;

const openaiToolCall = {
  type: "object",
  required: ["id", "type", "function"],
  properties: {
    id: { type: "string", maxLength: 200 },
    type: { const: "function" },
    function: { type: "object", required: ["name", "arguments"], properties: { name: { type: "string" }, arguments: { type: "string" } } },
  },
} as const;

export const OPENAI_CHAT_MESSAGE_SCHEMA = {
  type: "object",
  required: ["role"],
  additionalProperties: false,
  properties: {
    role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool"] },
    content: openaiContent,
    name: { type: "string", maxLength: 200 },
    tool_calls: { type: "array", maxItems: 128, items: openaiToolCall },
    tool_call_id: { type: "string", maxLength: 200 },
    refusal: { type: ["string", "null"] },
  },
} as const satisfies JsonSchema;

/** Accepted for compatibility and not forwarded (they do not change what llmq guarantees about the answer). */
export const OPENAI_IGNORED_FIELDS = [
  "user",
  "seed",
  "store",
  "metadata",
  "service_tier",
  "parallel_tool_calls",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "reasoning_effort",
  "safety_identifier",
  "prompt_cache_key",
] as const;

export const OPENAI_CHAT_REQUEST_SCHEMA = {
  title: "ChatCompletionRequest",
  type: "object",
  required: ["model", "messages"],
  additionalProperties: false,
  properties: {
    model: { type: "string", minLength: 1, maxLength: 200, description: "A model id from GET /v1/models (any provider)." },
    messages: { type: "array", minItems: 1, items: OPENAI_CHAT_MESSAGE_SCHEMA },
    max_tokens: { type: "integer", minimum: 1 },
    max_completion_tokens: { type: "integer", minimum: 1 },
    temperature: { type: "number", minimum: 0, maximum: 2 },
    top_p: { type: "number", minimum: 0, maximum: 1 },
    n: { type: "integer", minimum: 1, maximum: 1, description: "Only 1." },
    stop: { anyOf: [{ type: "string" }, { type: "array", maxItems: 4, items: { type: "string" } }, { type: "null" }] },
    stream: { type: ["boolean", "null"] },
    stream_options: { type: ["object", "null"], properties: { include_usage: { type: "boolean" } } },
    logprobs: { type: ["boolean", "null"], enum: [false, null], description: "Not supported: false or absent." },
    response_format: {
      type: "object",
      required: ["type"],
      additionalProperties: false,
      properties: {
        type: { type: "string", enum: ["text", "json_object", "json_schema"] },
        json_schema: {
          type: "object",
          required: ["name"],
          additionalProperties: false,
          properties: { name, description: { type: "string" }, schema: jsonSchemaValue, strict: { type: ["boolean", "null"] } },
        },
      },
      if: { properties: { type: { const: "json_schema" } } },
      then: { required: ["json_schema"] },
    },
    tools: {
      type: "array",
      maxItems: 128,
      items: {
        type: "object",
        required: ["type", "function"],
        additionalProperties: false,
        properties: {
          type: { const: "function" },
          function: {
            type: "object",
            required: ["name"],
            additionalProperties: false,
            properties: { name, description: { type: "string" }, parameters: { type: "object" }, strict: { type: ["boolean", "null"] } },
          },
        },
      },
    },
    tool_choice: {
      anyOf: [
        { type: "string", enum: ["none", "auto", "required"] },
        { type: "object", required: ["type", "function"], properties: { type: { const: "function" }, function: { type: "object", required: ["name"], properties: { name: { type: "string" } } } } },
      ],
    },
    ...Object.fromEntries(OPENAI_IGNORED_FIELDS.map((f) => [f, { description: "Accepted, not forwarded." }])),
  },
} as const satisfies JsonSchema;

const anthropicBlock = {
  type: "object",
  required: ["type"],
  properties: {
    type: { type: "string", description: "text, tool_use or tool_result; image and document blocks are refused." },
    text: { type: "string" },
    id: { type: "string" },
    name: { type: "string" },
    input: {},
    tool_use_id: { type: "string" },
    content: { anyOf: [{ type: "string" }, { type: "array", items: { type: "object" } }] },
    is_error: { type: "boolean" },
  },
} as const;

export const ANTHROPIC_IGNORED_FIELDS = ["metadata", "top_k", "service_tier", "container", "mcp_servers"] as const;

export const ANTHROPIC_MESSAGES_REQUEST_SCHEMA = {
  title: "MessagesRequest",
  type: "object",
  required: ["model", "max_tokens", "messages"],
  additionalProperties: false,
  properties: {
    model: { type: "string", minLength: 1, maxLength: 200, description: "A model id from GET /v1/models (any provider)." },
    max_tokens: { type: "integer", minimum: 1 },
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role", "content"],
        additionalProperties: false,
        properties: { role: { type: "string", enum: ["user", "assistant"] }, content: { anyOf: [{ type: "string" }, { type: "array", items: anthropicBlock }] } },
      },
    },
    system: { anyOf: [{ type: "string" }, { type: "array", items: { type: "object", required: ["type", "text"], properties: { type: { const: "text" }, text: { type: "string" } } } }] },
    temperature: { type: "number", minimum: 0, maximum: 1 },
    top_p: { type: "number", minimum: 0, maximum: 1 },
    stop_sequences: { type: "array", maxItems: 8, items: { type: "string" } },
    stream: { type: "boolean" },
    tools: {
      type: "array",
      maxItems: 128,
      items: {
        type: "object",
        required: ["name", "input_schema"],
        properties: { name, description: { type: "string" }, input_schema: { type: "object" }, type: { type: "string" }, cache_control: { type: "object" } },
      },
    },
    tool_choice: {
      type: "object",
      required: ["type"],
      properties: { type: { type: "string", enum: ["auto", "any", "tool", "none"] }, name: { type: "string" }, disable_parallel_tool_use: { type: "boolean" } },
      if: { properties: { type: { const: "tool" } } },
      then: { required: ["name"] },
    },
    output_config: {
      type: "object",
      properties: { format: { type: "object", required: ["type", "schema"], properties: { type: { const: "json_schema" }, schema: jsonSchemaValue } } },
    },
    ...Object.fromEntries(ANTHROPIC_IGNORED_FIELDS.map((f) => [f, { description: "Accepted, not forwarded." }])),
  },
} as const satisfies JsonSchema;

/** The bodies as the API reads them after validation (the subset it uses). */
export interface OpenAIChatBody {
  model: string;
  messages: Array<{
    role: "system" | "developer" | "user" | "assistant" | "tool";
    content?: string | null | Array<{ type: string; text?: string }>;
    tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
    tool_call_id?: string;
  }>;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  response_format?: { type: "text" | "json_object" | "json_schema"; json_schema?: { name: string; schema?: Record<string, unknown> | boolean; strict?: boolean | null } };
  tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null } }>;
  tool_choice?: "none" | "auto" | "required" | { type: "function"; function: { name: string } };
}

export type AnthropicBlock = { type: string; text?: string; id?: string; name?: string; input?: unknown; tool_use_id?: string; content?: string | Array<{ type?: string; text?: string }>; is_error?: boolean };

export interface AnthropicMessagesBody {
  model: string;
  max_tokens: number;
  messages: Array<{ role: "user" | "assistant"; content: string | AnthropicBlock[] }>;
  system?: string | Array<{ type: "text"; text: string }>;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
  tools?: Array<{ name: string; description?: string; input_schema: Record<string, unknown> }>;
  tool_choice?: { type: "auto" | "any" | "tool" | "none"; name?: string };
  output_config?: { format?: { type: "json_schema"; schema: Record<string, unknown> | boolean } };
}
