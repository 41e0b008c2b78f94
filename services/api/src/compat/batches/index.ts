import type { RequestHandler, Router } from "express";
import type { RedisConnection } from "@llmq/shared";
import type { Config, Keys } from "@llmq/shared";
import type { BatchService } from "../../batches/index.js";
import { mountAnthropicBatchRoutes } from "./anthropic-batch-routes.js";
import { CompatBatchService } from "./compat-batch-service.js";
import { CompatBatchStore } from "./compat-batch-store.js";
import { FileStore } from "./file-store.js";
import { mountOpenAIBatchRoutes } from "./openai-batch-routes.js";

/** The OpenAI Files + Batch API and Anthropic Message Batches, wired over llmq's batches. */
export interface CompatBatchDeps {
  config: Config;
  redis: RedisConnection;
  keys: Keys;
  /** The one BatchService of /api/v1/batches: a /v1 batch is an llmq batch like any other. */
  batches: BatchService;
}

export function mountCompatBatches(router: Router, deps: CompatBatchDeps, json: RequestHandler): void {
  const { config, redis, keys } = deps;
  const service = new CompatBatchService(config, deps.batches, new FileStore(redis, keys, config.files.ttlS), new CompatBatchStore(redis, keys, config.files.ttlS));
  mountOpenAIBatchRoutes(router, service, config, json);
  mountAnthropicBatchRoutes(router, service, config);
}
