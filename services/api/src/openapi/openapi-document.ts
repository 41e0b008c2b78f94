import { ERROR_STATUS, JOB_REQUEST_SCHEMAS, SCHEMA_REGISTRATION_SCHEMA, type Config } from "@llmq/shared";
import { RESPONSE_SCHEMAS } from "./response-schemas.js";
import { batchOpenApi } from "../batches/batch-openapi.js";
import { compatOpenApi } from "../compat/compat-openapi.js";

/**
 * The OpenAPI 3.1 document. Request bodies are the very objects the routes validate with (from
 * @llmq/shared), so the document cannot drift from the validation. A test enumerates the Express router and
 * fails when a route is missing here.
 */
type Operation = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });

/** Which codes each status carries, from the one table. */
function codesFor(status: number): string[] {
  return Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
}

function errors(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((s) => [String(s), { description: codesFor(s).join(", "), content: json(ref("Error")) }]));
}

const keyed = [{ apiKey: [] }, { bearer: [] }];
const jobId = {
  name: "id",
  in: "path",
  required: true,
  description: "A job's UUID, or a batch item's id `batch_…-<index>` (`-r<round>` once retried), as its result line names it.",
  schema: { type: "string", pattern: "^([0-9a-f-]{36}|batch_[0-9a-f]{32}-[0-9]{1,6}(-r[0-9]{1,4})?)$" },
};
const accepted = {
  description: "Not finished within `wait` (or asked to answer at once): the job, to poll at Location.",
  headers: { Location: { schema: { type: "string" } }, "Retry-After": { schema: { type: "integer" } } },
  content: json(ref("Job")),
};
const jobParameters = [
  { name: "wait", in: "query", schema: { type: "number", minimum: 0 }, description: "Seconds to wait for the result before answering 202 (default 30, max 120)." },
  { name: "async", in: "query", schema: { type: "boolean" }, description: "true: answer 202 at once." },
  { name: "Prefer", in: "header", schema: { type: "string" }, description: "RFC 7240: `respond-async` or `wait=N`." },
  { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 }, description: "Same key from the same API key within 24 h: the same job, no second provider call." },
];

function jobOperation(type: "unstructured" | "structured" | "conversation", summary: string): Operation {
  return {
    operationId: `create${type.charAt(0).toUpperCase()}${type.slice(1)}Job`,
    summary,
    tags: ["jobs"],
    security: keyed,
    parameters: jobParameters,
    requestBody: { required: true, content: json(JOB_REQUEST_SCHEMAS[type]) },
    responses: {
      "200": {
        description: "The finished job's result. Server-Timing: queue, provider, validate, total.",
        headers: { "Server-Timing": { schema: { type: "string" } } },
        content: json(ref("JobResult")),
      },
      "202": accepted,
      ...errors(400, 401, 409, 413, 415, 422, 429, 500, 502, 503, 504),
    },
  };
}

export function buildOpenApiDocument(config: Pick<Config, "version">): Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {
    "/api/v1/health": {
      get: {
        operationId: "getHealth",
        summary: "Liveness and queue state; without a key, status only.",
        tags: ["operations"],
        security: [{}, ...keyed],
        responses: { "200": { description: "Redis is up.", content: json(ref("Health")) }, ...errors(401), "503": { description: "Redis is down.", content: json(ref("Health")) } },
      },
    },
    "/api/v1/models": {
      get: {
        operationId: "listModels",
        summary: "The model registry.",
        tags: ["models"],
        security: keyed,
        responses: { "200": { description: "Every model id accepted in `model`.", content: json(ref("Models")) }, ...errors(401) },
      },
    },
    "/api/v1/unstructured": { post: jobOperation("unstructured", "Generate text.") },
    "/api/v1/structured": { post: jobOperation("structured", "Generate a JSON value valid against a JSON Schema.") },
    "/api/v1/conversation": { post: jobOperation("conversation", "The next assistant message of a conversation.") },
    "/api/v1/jobs/{id}": {
      get: {
        operationId: "getJob",
        summary: "A job: its status, and its result or error once finished.",
        tags: ["jobs"],
        security: keyed,
        parameters: [jobId],
        responses: { "200": { description: "The job. Retry-After while queued or active.", content: json(ref("Job")) }, ...errors(401, 404, 503) },
      },
      delete: {
        operationId: "cancelJob",
        summary: "Cancel a job that has not started.",
        tags: ["jobs"],
        security: keyed,
        parameters: [jobId],
        responses: { "200": { description: "The cancelled job.", content: json(ref("Job")) }, ...errors(401, 404, 409, 503) },
      },
    },
    "/api/v1/schemas": {
      post: {
        operationId: "registerSchema",
        summary: "Register a JSON Schema; its id then stands for it as `schema_id`.",
        tags: ["schemas"],
        security: keyed,
        requestBody: { required: true, content: json(SCHEMA_REGISTRATION_SCHEMA) },
        responses: {
          "201": { description: "Registered.", headers: { Location: { schema: { type: "string" } } }, content: json(ref("Schema")) },
          ...errors(400, 401, 413, 415, 503),
        },
      },
    },
    "/api/v1/schemas/{id}": {
      get: {
        operationId: "getSchema",
        summary: "A registered schema.",
        tags: ["schemas"],
        security: keyed,
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "The schema.", content: json(ref("Schema")) }, ...errors(401, 404, 503) },
      },
    },
    "/api/v1/openapi.json": {
      get: {
        operationId: "getOpenApi",
        summary: "This document.",
        tags: ["operations"],
        security: keyed,
        responses: { "200": { description: "OpenAPI 3.1.", content: { "application/json": { schema: { type: "object" } } } }, ...errors(401) },
      },
    },
    "/livez": {
      get: {
        operationId: "getLiveness",
        summary: "Liveness probe: the process answers. Never looks at Redis.",
        tags: ["operations"],
        security: [{}],
        responses: { "200": { description: "Alive.", content: json({ type: "object", properties: { status: { const: "ok" } } }) } },
      },
    },
    "/readyz": {
      get: {
        operationId: "getReadiness",
        summary: "Readiness probe: Redis answers and a worker takes jobs; 503 while draining.",
        tags: ["operations"],
        security: [{}],
        responses: {
          "200": { description: "Ready.", content: json(ref("Readiness")) },
          "503": { description: "Not ready (Redis down, no worker) or draining.", content: json(ref("Readiness")) },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "getMetrics",
        summary: "Prometheus metrics (text format). No key: restrict it at the network.",
        tags: ["operations"],
        security: [{}],
        responses: { "200": { description: "Prometheus text format.", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
  };
  const batches = batchOpenApi({ ref, json, errors, keyed });
  const compat = compatOpenApi({ ref, json, errors, keyed });
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "llmq",
      version: config.version,
      description:
        "Queue-backed LLM jobs. Job routes wait for the result up to `wait` seconds (200), else answer 202 with Location. " +
        "Errors: `{\"error\": {code, message, details, request_id}}`; codes and statuses: " +
        Object.entries(ERROR_STATUS).map(([c, s]) => `${c} ${s}`).join(", ") + ".",
    },
    servers: [{ url: "/" }],
    security: keyed,
    paths: { ...paths, ...batches.paths, ...compat.paths },
    components: {
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        bearer: { type: "http", scheme: "bearer" },
      },
      schemas: { ...RESPONSE_SCHEMAS, ...batches.schemas },
    },
  };
}
