import express, { type Express } from "express";
import type { RedisConnection } from "@llmq/shared";
import { createKeys, type Config, type Logger, type ModelRegistry, type SchemaGuard } from "@llmq/shared";
import "./http/locals.js";
import { ApiKeyAuth } from "./http/auth.js";
import { errorHandler, notFoundHandler } from "./http/errors.js";
import { requestContext } from "./http/request-context.js";
import { HealthService } from "./health/health-service.js";
import { mountHealthRoutes } from "./health/health-routes.js";
import { mountProbeRoutes } from "./health/probe-routes.js";
import { mountAdminDashboard } from "./admin/admin-dashboard.js";
import type { JobQueues } from "./jobs/job-queues.js";
import { JobRequestPlanner } from "./jobs/job-request.js";
import { mountJobRoutes } from "./jobs/job-routes.js";
import { JobService } from "./jobs/job-service.js";
import { JobStore } from "./jobs/job-store.js";
import type { ResultWaiter } from "./jobs/result-waiter.js";
import type { ApiMetrics } from "./metrics/api-metrics.js";
import { mountMetricsRoutes } from "./metrics/metrics-routes.js";
import { mountModelRoutes } from "./models/model-routes.js";
import { mountOpenApiRoutes } from "./openapi/openapi-routes.js";
import { SchemaService } from "./schemas/schema-service.js";
import { SchemaStore } from "./schemas/schema-store.js";
import { mountSchemaRoutes } from "./schemas/schema-routes.js";
import { createBatchService, mountBatches } from "./batches/index.js";
import { mountCompat, type StreamReader } from "./compat/index.js";

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** The fail-fast producer connection: queues, records, idempotency, cache, rate limits, schemas. */
  redis: RedisConnection;
  queues: JobQueues;
  waiter: ResultWaiter;
  /** Reads streamed jobs' pieces for the /v1 routes (one blocking connection, opened on first use). */
  streams: StreamReader;
  models: ModelRegistry;
  schemaGuard: SchemaGuard;
  metrics: ApiMetrics;
  /** Set by main.ts while shutting down: responses then close their connection. */
  lifecycle: { draining: boolean };
  startedAt: number;
}

/** The Express app: routes and middleware over the given deps. No listen, no env, no I/O of its own. */
export function createApp(deps: AppDeps): Express {
  const { config, logger, redis, metrics } = deps;
  const keys = createKeys(config.redis.prefix);
  const auth = new ApiKeyAuth(config.api.keys);
  const schemas = new SchemaService(new SchemaStore(redis, keys), deps.schemaGuard);
  const planner = new JobRequestPlanner(config, deps.models, deps.schemaGuard, schemas);
  const jobStore = new JobStore(redis, keys);
  const batches = createBatchService({ config, redis, keys, planner, limiter: jobStore, metrics });
  const jobs = new JobService(config, redis, deps.queues, jobStore, deps.waiter, planner, metrics, batches);

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestContext(logger, metrics, deps.lifecycle));

  // Routes without a key first; then everything under /api/v1 needs one, checked before a body is read.
  const open = express.Router();
  const health = new HealthService(redis, deps.queues, config, deps.models);
  mountHealthRoutes(open, health, auth, config, deps.startedAt);
  mountProbeRoutes(open, health, deps.lifecycle);
  mountMetricsRoutes(open, metrics);
  app.use(open);
  mountAdminDashboard(app, deps.queues, config.api.adminKeyHash);
  mountCompat(app, { config, logger, redis, keys, auth, jobs, planner, waiter: deps.waiter, streams: deps.streams, metrics, models: deps.models, batches });
  app.use("/api/v1", auth.require);

  // The job routes first: they are the hot path. Bodies are parsed by the POST routes only.
  const json = express.json({ limit: config.api.bodyLimitBytes, type: ["application/json", "application/*+json"] });
  const api = express.Router();
  mountJobRoutes(api, jobs, config, metrics, json);
  mountModelRoutes(api, deps.models, config);
  mountSchemaRoutes(api, schemas, json);
  mountBatches(api, batches, config);
  mountOpenApiRoutes(api, config);
  app.use(api);

  app.use(notFoundHandler);
  app.use(errorHandler(logger, redis, config.api.bodyLimitBytes));
  return app;
}
