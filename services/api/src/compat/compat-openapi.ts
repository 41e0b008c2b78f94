import { ANTHROPIC_MESSAGES_REQUEST_SCHEMA, OPENAI_CHAT_REQUEST_SCHEMA } from "@llmq/shared";
import type { OpenApiHelpers } from "../batches/batch-openapi.js";
import { compatBatchOpenApi } from "./batches/compat-batch-openapi.js";

/**
 * The /v1 routes' part of the OpenAPI document. Request bodies are the schemas the routes validate with;
 * responses follow OpenAI's and Anthropic's own references, linked from each operation, so they are described
 * rather than restated. Errors here are in the asking API's shape (compat-errors.ts), not llmq's.
 */
export function compatOpenApi(h: OpenApiHelpers): { paths: Record<string, Record<string, Record<string, unknown>>> } {
  const sse = { "text/event-stream": { schema: { type: "string" } } };
  const anyJson = (description: string) => ({ description, content: h.json({ type: "object" }) });
  const compatErrors = (shape: string) => Object.fromEntries(["400", "401", "404", "409", "422", "429", "502", "503", "504"].map((s) => [s, anyJson(`${shape}; \`code\` holds llmq's error code.`)]));
  const idempotency = [{ name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 } }];
  return {
    paths: {
      ...compatBatchOpenApi(h),
      "/v1/chat/completions": {
        post: {
          operationId: "openaiCreateChatCompletion",
          summary: "OpenAI Chat Completions, through llmq's queue, for any model llmq knows.",
          description:
            "https://platform.openai.com/docs/api-reference/chat/create. `response_format` json_schema / json_object run llmq's structured path " +
            "(validation and repair); `tools` pass through. `stream: true` answers `chat.completion.chunk` events relayed from the worker as the " +
            "provider sends them, each with an SSE `id`. Waits up to MAX_WAIT_S, then 504 RESULT_TIMEOUT naming the job.",
          tags: ["openai-compatible"],
          security: h.keyed,
          parameters: idempotency,
          requestBody: { required: true, content: h.json(OPENAI_CHAT_REQUEST_SCHEMA) },
          responses: { "200": { description: "A `chat.completion` object, or its stream.", content: { ...(h.json({ type: "object" }) as object), ...sse } }, ...compatErrors("OpenAI's error shape") },
        },
      },
      "/v1/chat/completions/{id}": {
        get: {
          operationId: "openaiGetChatCompletion",
          summary: "A chat completion by id (`chatcmpl-<job id>`); with Accept: text/event-stream, its stream, resumed after Last-Event-ID.",
          tags: ["openai-compatible"],
          security: h.keyed,
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string" } },
            { name: "Last-Event-ID", in: "header", schema: { type: "string" } },
          ],
          responses: { "200": { description: "The completion, or its stream.", content: { ...(h.json({ type: "object" }) as object), ...sse } }, ...compatErrors("OpenAI's error shape") },
        },
      },
      "/v1/messages": {
        post: {
          operationId: "anthropicCreateMessage",
          summary: "Anthropic Messages, through llmq's queue, for any model llmq knows.",
          description:
            "https://docs.anthropic.com/en/api/messages. Tools and tool results pass through; `output_config.format` json_schema runs llmq's structured path. " +
            "`stream: true` answers Anthropic's events (message_start … message_stop).",
          tags: ["anthropic-compatible"],
          security: h.keyed,
          parameters: idempotency,
          requestBody: { required: true, content: h.json(ANTHROPIC_MESSAGES_REQUEST_SCHEMA) },
          responses: { "200": { description: "A `message` object, or its event stream.", content: { ...(h.json({ type: "object" }) as object), ...sse } }, ...compatErrors("Anthropic's error shape") },
        },
      },
      "/v1/models": {
        get: {
          operationId: "compatListModels",
          summary: "Every model llmq knows: OpenAI's list shape, or Anthropic's when the client sends anthropic-version.",
          tags: ["openai-compatible", "anthropic-compatible"],
          security: h.keyed,
          responses: { "200": anyJson("The models."), "401": anyJson("The asking API's error shape.") },
        },
      },
      "/v1/models/{id}": {
        get: {
          operationId: "compatGetModel",
          summary: "One model, in the asking API's shape.",
          tags: ["openai-compatible", "anthropic-compatible"],
          security: h.keyed,
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": anyJson("The model."), "401": anyJson("The asking API's error shape."), "404": anyJson("No such model.") },
        },
      },
    },
  };
}
