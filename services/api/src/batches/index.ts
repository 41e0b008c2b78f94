import type { Router } from "express";
import type { RedisConnection } from "@llmq/shared";
import type { Config, Keys } from "@llmq/shared";
import type { JobRequestPlanner } from "../jobs/job-request.js";
import type { ApiMetrics } from "../metrics/api-metrics.js";
import { createBatchMetrics } from "./batch-metrics.js";
import { mountBatchRoutes } from "./batch-routes.js";
import { BatchService, type ItemLimiter } from "./batch-service.js";
import { BatchStore } from "./batch-store.js";

/** The batches component, wired: app.ts builds it with one call and mounts it with another. */
export interface BatchDeps {
  config: Config;
  redis: RedisConnection;
  keys: Keys;
  /** The job routes' planner: batch items are checked exactly as single requests. */
  planner: JobRequestPlanner;
  /** The job routes' rate-limit windows: a batch's items count against them. */
  limiter: ItemLimiter;
  metrics: ApiMetrics;
}

export function createBatchService(deps: BatchDeps): BatchService {
  const store = new BatchStore(deps.redis, deps.keys);
  return new BatchService(deps.config, store, deps.planner, deps.limiter, createBatchMetrics(deps.metrics.registry, () => store.runningCount()));
}

export function mountBatches(router: Router, service: BatchService, config: Config): void {
  mountBatchRoutes(router, service, config);
}

export type { BatchService } from "./batch-service.js";
// For tests that drive the store directly.
export { BatchStore, PUSH_CHUNK, STAGE_TTL_S, type NewBatch } from "./batch-store.js";
