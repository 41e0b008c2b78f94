import type { Router } from "express";
import type { Redis } from "ioredis";
import type { Config, Keys } from "@llmq/shared";
import type { JobRequestPlanner } from "../jobs/job-request.js";
import { mountBatchRoutes } from "./batch-routes.js";
import { BatchService } from "./batch-service.js";
import { BatchStore } from "./batch-store.js";

/** The batches component, wired: app.ts mounts it with one line. */
export interface BatchDeps {
  config: Config;
  redis: Redis;
  keys: Keys;
  /** The job routes' planner: batch items are checked exactly as single requests. */
  planner: JobRequestPlanner;
}

export function mountBatches(router: Router, deps: BatchDeps): void {
  mountBatchRoutes(router, new BatchService(deps.config, new BatchStore(deps.redis, deps.keys), deps.planner), deps.config);
}

// For tests that drive the store directly.
export { BatchStore, type NewBatch } from "./batch-store.js";
