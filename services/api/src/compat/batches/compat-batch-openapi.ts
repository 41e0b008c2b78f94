import type { OpenApiHelpers } from "../../batches/batch-openapi.js";

/**
 * The /v1 Batch API routes' part of the OpenAPI document. Objects follow OpenAI's and Anthropic's own
 * references (linked per operation), so they are described, not restated; errors are in the asking API's shape.
 */
export function compatBatchOpenApi(h: OpenApiHelpers): Record<string, Record<string, Record<string, unknown>>> {
  const anyJson = (description: string) => ({ description, content: h.json({ type: "object" }) });
  const errs = (shape: string, ...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), anyJson(`${shape}; \`code\` holds llmq's error code.`)]));
  const openaiErrors = (...s: number[]) => errs("OpenAI's error shape", 401, 404, 503, ...s);
  const anthropicErrors = (...s: number[]) => errs("Anthropic's error shape", 401, 404, 503, ...s);
  const id = (description: string) => ({ name: "id", in: "path", required: true, schema: { type: "string" }, description });
  const fileId = id("`file-<hex>` (uploaded), or `file-out-<hex>` / `file-err-<hex>` (a batch's output and error files).");
  const batchId = id("`batch_<hex>`.");
  const msgBatchId = id("`msgbatch_<hex>`.");
  const jsonl = { "application/jsonl": { schema: { type: "string" } } };
  const openai = { tags: ["openai-compatible"], security: h.keyed };
  const anthropic = { tags: ["anthropic-compatible"], security: h.keyed };
  return {
    "/v1/files": {
      post: {
        ...openai,
        operationId: "openaiUploadFile",
        summary: "Upload a batch input file (multipart/form-data: purpose=batch, file): JSONL, one {custom_id, method, url, body} per line.",
        description:
          "https://platform.openai.com/docs/api-reference/files/create. Only `purpose=batch`. Kept in Redis for FILE_TTL_S (default 7 days); " +
          "at most FILE_MAX_BYTES (default 64 MiB), 413 above it.",
        requestBody: {
          required: true,
          content: { "multipart/form-data": { schema: { type: "object", required: ["purpose", "file"], properties: { purpose: { const: "batch" }, file: { type: "string", contentMediaType: "application/octet-stream" } } } } },
        },
        responses: { "200": anyJson("The file object `{id, object: \"file\", bytes, created_at, filename, purpose, status}`."), ...openaiErrors(400, 413, 415) },
      },
      get: {
        ...openai,
        operationId: "openaiListFiles",
        summary: "The key's uploaded files, newest first; `after` (a file id) and `limit` page through them.",
        parameters: [
          { name: "after", in: "query", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 10000 } },
          { name: "purpose", in: "query", schema: { type: "string" } },
        ],
        responses: { "200": anyJson("`{object: \"list\", data, first_id, last_id, has_more}`."), ...openaiErrors(400) },
      },
    },
    "/v1/files/{id}": {
      get: { ...openai, operationId: "openaiGetFile", summary: "A file object (uploaded, or a finished batch's output or error file).", parameters: [fileId], responses: { "200": anyJson("The file object."), ...openaiErrors() } },
      delete: { ...openai, operationId: "openaiDeleteFile", summary: "Delete a file.", parameters: [fileId], responses: { "200": anyJson("`{id, object: \"file\", deleted: true}`."), ...openaiErrors() } },
    },
    "/v1/files/{id}/content": {
      get: {
        ...openai,
        operationId: "openaiGetFileContent",
        summary: "A file's content, streamed. Output files: one `{id, custom_id, response: {status_code: 200, request_id, body}, error: null}` per succeeded request; error files: failed requests with their error response, cancelled ones with `error.code` batch_cancelled.",
        parameters: [fileId],
        responses: { "200": { description: "The bytes.", content: { "application/octet-stream": { schema: { type: "string" } }, ...jsonl } }, ...openaiErrors() },
      },
    },
    "/v1/batches": {
      post: {
        ...openai,
        operationId: "openaiCreateBatch",
        summary: "Run an uploaded file's requests as one llmq batch of chat items.",
        description:
          "https://platform.openai.com/docs/api-reference/batch/create. `endpoint` must be /v1/chat/completions and `completion_window` 24h. Every line is " +
          "checked before anything is stored: the first bad one refuses the batch with 400 naming the line (`details.line`). At most BATCH_MAX_ITEMS lines.",
        requestBody: {
          required: true,
          content: h.json({
            type: "object",
            required: ["input_file_id", "endpoint", "completion_window"],
            additionalProperties: false,
            properties: {
              input_file_id: { type: "string" },
              endpoint: { const: "/v1/chat/completions" },
              completion_window: { const: "24h" },
              metadata: { type: ["object", "null"], maxProperties: 16, additionalProperties: { type: "string", maxLength: 512 } },
            },
          }),
        },
        responses: { "200": anyJson("The batch object (`object: \"batch\"`)."), ...openaiErrors(400, 413) },
      },
      get: {
        ...openai,
        operationId: "openaiListBatches",
        summary: "The key's /v1 batches, newest first; `after` (a batch id) and `limit` (1–100, default 20) page through them.",
        parameters: [
          { name: "after", in: "query", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
        ],
        responses: { "200": anyJson("`{object: \"list\", data, first_id, last_id, has_more}`."), ...openaiErrors(400) },
      },
    },
    "/v1/batches/{id}": {
      get: { ...openai, operationId: "openaiGetBatch", summary: "A batch: status, request_counts, and output_file_id / error_file_id once finished.", parameters: [batchId], responses: { "200": anyJson("The batch object."), ...openaiErrors() } },
    },
    "/v1/batches/{id}/cancel": {
      post: { ...openai, operationId: "openaiCancelBatch", summary: "Cancel the requests not started yet: `cancelling` while running ones finish, then `cancelled`.", parameters: [batchId], responses: { "200": anyJson("The batch object."), ...openaiErrors() } },
    },
    "/v1/messages/batches": {
      post: {
        ...anthropic,
        operationId: "anthropicCreateMessageBatch",
        summary: "Run `{requests: [{custom_id, params}]}` (each params a Messages body) as one llmq batch of chat items.",
        description:
          "https://docs.anthropic.com/en/api/creating-message-batches. Every request is checked before anything is stored; the first bad one refuses the batch " +
          "naming `requests[i]`. Read with BATCH_BODY_LIMIT and BATCH_MAX_ITEMS.",
        requestBody: { required: true, content: h.json({ type: "object", required: ["requests"], properties: { requests: { type: "array", items: { type: "object", required: ["custom_id", "params"] } } } }) },
        responses: { "200": anyJson("The message batch (`type: \"message_batch\"`)."), ...anthropicErrors(400, 413, 415) },
      },
      get: {
        ...anthropic,
        operationId: "anthropicListMessageBatches",
        summary: "The key's message batches, newest first; `after_id` / `before_id` and `limit` (1–1000, default 20) page through them.",
        parameters: [
          { name: "after_id", in: "query", schema: { type: "string" } },
          { name: "before_id", in: "query", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
        ],
        responses: { "200": anyJson("`{data, has_more, first_id, last_id}`."), ...anthropicErrors(400) },
      },
    },
    "/v1/messages/batches/{id}": {
      get: { ...anthropic, operationId: "anthropicGetMessageBatch", summary: "A message batch: processing_status, request_counts, results_url once ended.", parameters: [msgBatchId], responses: { "200": anyJson("The message batch."), ...anthropicErrors() } },
    },
    "/v1/messages/batches/{id}/cancel": {
      post: { ...anthropic, operationId: "anthropicCancelMessageBatch", summary: "Cancel the requests not started yet.", parameters: [msgBatchId], responses: { "200": anyJson("The message batch."), ...anthropicErrors() } },
    },
    "/v1/messages/batches/{id}/results": {
      get: {
        ...anthropic,
        operationId: "anthropicGetMessageBatchResults",
        summary: "Once ended: one `{custom_id, result: {type: succeeded, message} | {type: errored, error} | {type: canceled}}` per request, streamed.",
        parameters: [msgBatchId],
        responses: { "200": { description: "JSONL.", content: { "application/x-jsonl": { schema: { type: "string" } } } }, ...anthropicErrors(400) },
      },
    },
  };
}
