import { BATCH_REQUEST_SCHEMA, BATCH_STATUSES } from "@llmq/shared";

/**
 * The batch routes' part of the OpenAPI document. The request schema is the shared one the route validates
 * with; the document's own helpers are passed in (no import back into openapi/, so no cycle).
 */
export interface OpenApiHelpers {
  ref(name: string): unknown;
  json(schema: unknown): unknown;
  errors(...statuses: number[]): Record<string, unknown>;
  keyed: unknown;
}

export function batchOpenApi(h: OpenApiHelpers): { paths: Record<string, Record<string, Record<string, unknown>>>; schemas: Record<string, unknown> } {
  const batchId = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^batch_[0-9a-f]{32}$" } };
  const batch = { description: "The batch.", content: h.json(h.ref("Batch")) };
  const counts = { type: "integer", minimum: 0 };
  return {
    paths: {
      "/api/v1/batches": {
        post: {
          operationId: "createBatch",
          summary: "Submit up to BATCH_MAX_ITEMS requests at once; every item is checked before anything is stored.",
          description:
            "JSON `{requests, metadata?}`, or `application/x-ndjson` with one `{custom_id, type, body}` per line. One bad item refuses the " +
            "batch: 400 INVALID_REQUEST with `details: {index, custom_id, code, reason, errors?}`. Too many items: 413 BATCH_TOO_LARGE.",
          tags: ["batches"],
          security: h.keyed,
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: BATCH_REQUEST_SCHEMA },
              "application/x-ndjson": { schema: { ...BATCH_REQUEST_SCHEMA.properties.requests.items, description: "One item per line." } },
            },
          },
          responses: {
            "202": { description: "Stored; the items run as workers free up. Poll Location.", headers: { Location: { schema: { type: "string" } } }, content: h.json(h.ref("Batch")) },
            ...h.errors(400, 401, 413, 415, 503),
          },
        },
      },
      "/api/v1/batches/{id}": {
        get: {
          operationId: "getBatch",
          summary: "A batch's status and counts (O(1) in its size).",
          tags: ["batches"],
          security: h.keyed,
          parameters: [batchId],
          responses: { "200": batch, ...h.errors(401, 404, 503) },
        },
      },
      "/api/v1/batches/{id}/results": {
        get: {
          operationId: "getBatchResults",
          summary: "One NDJSON line per finished item, in finishing order, streamed.",
          tags: ["batches"],
          security: h.keyed,
          parameters: [batchId, { name: "status", in: "query", schema: { type: "string", enum: ["completed", "failed", "cancelled"] }, description: "Only the lines of this status." }],
          responses: {
            "200": { description: "`application/x-ndjson`: one BatchResultLine per line.", content: { "application/x-ndjson": { schema: h.ref("BatchResultLine") } } },
            ...h.errors(400, 401, 404, 503),
          },
        },
      },
      "/api/v1/batches/{id}/cancel": {
        post: {
          operationId: "cancelBatch",
          summary: "Cancel the items not started yet; running ones finish, finished ones stay readable.",
          tags: ["batches"],
          security: h.keyed,
          parameters: [batchId],
          responses: { "200": batch, ...h.errors(401, 404, 503) },
        },
      },
    },
    schemas: {
      Batch: {
        type: "object",
        required: ["id", "object", "status", "counts", "created_at"],
        properties: {
          id: { type: "string" },
          object: { const: "batch" },
          status: { type: "string", enum: BATCH_STATUSES },
          counts: {
            type: "object",
            description: "total = queued + active + completed + failed + cancelled, always.",
            required: ["total", "queued", "active", "completed", "failed", "cancelled"],
            properties: { total: counts, queued: counts, active: counts, completed: counts, failed: counts, cancelled: counts },
          },
          created_at: { type: "integer", description: "epoch ms" },
          started_at: { type: "integer", description: "epoch ms, when the first item started" },
          finished_at: { type: "integer", description: "epoch ms, when the last item became final" },
          cancel_requested_at: { type: "integer", description: "epoch ms" },
          metadata: { type: "object", additionalProperties: { type: "string" } },
        },
      },
      BatchResultLine: {
        type: "object",
        required: ["status", "custom_id", "job_id"],
        properties: {
          status: { type: "string", enum: ["completed", "failed", "cancelled"] },
          custom_id: { type: "string" },
          job_id: { type: "string" },
          result: h.ref("JobResult"),
          error: h.ref("ErrorBody"),
        },
      },
    },
  };
}
