import express, { type Express } from "express";
import type { RedisConnection } from "@llmq/shared";
import type { Config, Keys, Logger, ModelRegistry } from "@llmq/shared";
import type { BatchService } from "../batches/index.js";
import type { ApiKeyAuth } from "../http/auth.js";
import type { JobRequestPlanner } from "../jobs/job-request.js";
import type { JobService } from "../jobs/job-service.js";
import type { ResultWaiter } from "../jobs/result-waiter.js";
import type { ApiMetrics } from "../metrics/api-metrics.js";
import { mountCompatBatches } from "./batches/index.js";
import { mountChatRoutes } from "./chat-routes.js";
import { compatErrorHandler, compatNotFound } from "./compat-errors.js";
import { mountCompatModelRoutes } from "./model-routes.js";
import type { StreamReader } from "./stream-reader.js";

/**
 * The OpenAI- and Anthropic-compatible API under /v1: the official SDKs and the frameworks built on them
 * point their base URL here. Invariants:
 * - every request runs through the same job service as /api/v1 (the same queue, workers, provider limits,
 *   ownership, idempotency, rate limit and final records); these routes only translate shapes;
 * - any model llmq knows answers in the shape of the API that asked, whichever provider serves it;
 * - keys are accepted as those clients send them (`Authorization: Bearer`, `x-api-key`);
 * - every error, 401 and 404 included, leaves in the asking API's error shape with llmq's code inside;
 * - the Batch APIs (OpenAI /v1/files + /v1/batches, Anthropic /v1/messages/batches) are llmq's own batches
 *   (batches/): one llmq batch of `chat` items per batch, the same feeder, counts, limits and result lines.
 */
export interface CompatDeps {
  config: Config;
  logger: Logger;
  redis: RedisConnection;
  keys: Keys;
  auth: ApiKeyAuth;
  jobs: JobService;
  planner: JobRequestPlanner;
  waiter: ResultWaiter;
  streams: StreamReader;
  metrics: ApiMetrics;
  models: ModelRegistry;
  batches: BatchService;
}

export function mountCompat(app: Express, deps: CompatDeps): void {
  // Full paths (not a router mounted at /v1), so the route table lists /v1/… as clients call it.
  const router = express.Router();
  router.use("/v1", deps.auth.require);
  const json = express.json({ limit: deps.config.api.bodyLimitBytes, type: ["application/json", "application/*+json"] });
  mountChatRoutes(router, deps, json);
  mountCompatModelRoutes(router, deps.models);
  mountCompatBatches(router, deps, json);
  router.use("/v1", compatNotFound);
  router.use("/v1", compatErrorHandler(deps.logger, deps.redis, deps.config.api.bodyLimitBytes));
  app.use(router);
}

export { StreamReader } from "./stream-reader.js";
