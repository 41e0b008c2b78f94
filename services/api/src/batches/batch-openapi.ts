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
            "batch: 400 INVALID_REQUEST with `details: {index, custom_id, code, reason, errors?}`. Too many items: 413 BATCH_TOO_LARGE. " +
            "With RATE_LIMIT_PER_MIN set, each item counts as one request of the key's minute: a batch larger than the limit is 413 " +
            "BATCH_TOO_LARGE (`details.limit_per_min`), one that does not fit in what is left of the minute is 429 RATE_LIMITED and costs nothing.",
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
            ...h.errors(400, 401, 413, 415, 429, 503),
          },
        },
        get: {
          operationId: "listBatches",
          summary: "The key's batches, newest first, a page at a time.",
          description:
            "Cursor pagination: pass the page's `next_cursor` as `?cursor=` for the next page; the last page has no `next_cursor`. " +
            "Batches whose results expired (RESULT_TTL_S after they finished) are no longer listed.",
          tags: ["batches"],
          security: h.keyed,
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
            { name: "cursor", in: "query", schema: { type: "string" }, description: "`next_cursor` of the previous page (opaque)." },
          ],
          responses: { "200": { description: "One page.", content: h.json(h.ref("BatchList")) }, ...h.errors(400, 401, 503) },
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
          summary: "One NDJSON line per finished item, in finishing order, streamed; after a retry only each item's latest line.",
          description:
            "Lines are only ever added at the end while no retry runs, so a client that lost a download part-way can skip the lines it " +
            "already has. A retry (POST …/retry) replaces a retried item's line by its new outcome's, at the end, when that outcome lands.",
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
      "/api/v1/batches/{id}/retry": {
        post: {
          operationId: "retryBatch",
          summary: "Run the failed items of a finished batch again, as new attempts of the same items.",
          description:
            "Counts move from failed back to queued and the batch is in_progress again (`retries` counts the retries); each retried " +
            "item gets the job id `batch_…-<index>-r<round>`. 409 BATCH_NOT_FINISHED while items are queued or running, 409 " +
            "NOTHING_TO_RETRY when no item failed (or the batch was cancelled).",
          tags: ["batches"],
          security: h.keyed,
          parameters: [batchId],
          responses: { "200": batch, ...h.errors(401, 404, 409, 503) },
        },
      },
    },
    schemas: {
      BatchList: {
        type: "object",
        required: ["object", "data"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: h.ref("Batch") },
          next_cursor: { type: "string", description: "Absent on the last page." },
        },
      },
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
          retries: { type: "integer", description: "How many retries re-ran failed items; absent when none." },
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
