import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The API's Prometheus metrics, on a registry of its own (several apps can live in one test process).
 * Labels never carry an owner or an id: cardinality stays bounded by routes, statuses and models.
 */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "method" | "status">;
  readonly duration: Histogram<"route" | "method">;
  readonly cache: Counter<"outcome">;
  readonly enqueued: Counter<"type" | "provider">;
  readonly outcomes: Counter<"type" | "outcome">;
  readonly idempotentReplays: Counter;
  readonly rateLimited: Counter;
  readonly syncWaiters: Gauge;
}

export function createApiMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  // Node's process metrics under their standard names (process_*, nodejs_*), which stock Node.js dashboards and
  // alerts query; the service label tells the API's from the workers'. llmq's own series keep llmq_api_.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, labels: { service: "api" } });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: "llmq_api_requests_total", help: "HTTP requests by route, method and status.", labelNames: ["route", "method", "status"], registers }),
    duration: new Histogram({
      name: "llmq_api_request_duration_seconds",
      help: "HTTP request duration, including any sync wait for the job.",
      labelNames: ["route", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    cache: new Counter({ name: "llmq_api_cache_requests_total", help: "Response cache lookups (requests with cache: true) by outcome: hit or miss.", labelNames: ["outcome"], registers }),
    enqueued: new Counter({ name: "llmq_api_jobs_enqueued_total", help: "Jobs enqueued by type and provider.", labelNames: ["type", "provider"], registers }),
    outcomes: new Counter({
      name: "llmq_api_job_responses_total",
      help: "Job route answers by outcome: completed, failed, cancelled (final answer in the request), accepted (202), cached.",
      labelNames: ["type", "outcome"],
      registers,
    }),
    idempotentReplays: new Counter({ name: "llmq_api_idempotent_replays_total", help: "Requests answered with an existing job because of their Idempotency-Key.", registers }),
    rateLimited: new Counter({ name: "llmq_api_rate_limited_total", help: "Requests refused by the per-key rate limit.", registers }),
    syncWaiters: new Gauge({ name: "llmq_api_sync_waiters", help: "Requests currently waiting for their job's result.", registers }),
  };
}
