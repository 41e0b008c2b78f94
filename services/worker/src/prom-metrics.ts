import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { WorkerMetrics } from "./metrics.js";

/**
 * The WorkerMetrics hook on prom-client, on a registry of its own (several services can share a test process).
 * Labels are bounded: provider, job type, outcome, error code and model (the model registry's ids), never a job
 * id or an owner. Queue depth and worker counts are the API's to report (it asks BullMQ on scrape): N workers
 * reporting the same queue would only be summed wrongly.
 */
export interface PromWorkerMetrics {
  readonly registry: Registry;
  readonly hook: WorkerMetrics;
}

const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const FAST_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createPromWorkerMetrics(options: { defaultMetrics?: boolean; identity?: { name: string; version: string } } = {}): PromWorkerMetrics {
  const registry = new Registry();
  // Standard process_*/nodejs_* names with service="worker" (the API's carry service="api").
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, labels: { service: "worker" } });
  const registers = [registry];
  const s = (ms: number): number => ms / 1000;

  const jobs = new Counter({
    name: "llmq_jobs_total",
    help: "Job attempts by outcome (completed, failed, cancelled, retried, rate_limited, requeued) and error code (none when there is none).",
    labelNames: ["provider", "type", "outcome", "code"],
    registers,
  });
  const attempt = new Histogram({ name: "llmq_job_attempt_duration_seconds", help: "One attempt of a job in the worker, start to outcome.", labelNames: ["provider", "type", "outcome"], buckets: JOB_BUCKETS, registers });
  const queueWait = new Histogram({ name: "llmq_job_queue_wait_seconds", help: "Completed jobs: creation to first start (time waiting in the queue).", labelNames: ["provider", "type"], buckets: JOB_BUCKETS, registers });
  const providerTime = new Histogram({ name: "llmq_job_provider_seconds", help: "Completed jobs: time in provider calls, repairs included.", labelNames: ["provider", "type"], buckets: JOB_BUCKETS, registers });
  const validation = new Histogram({ name: "llmq_job_validation_seconds", help: "Completed jobs: schema compile, JSON parse and validation time.", labelNames: ["provider", "type"], buckets: FAST_BUCKETS, registers });
  const calls = new Counter({ name: "llmq_provider_requests_total", help: "Provider calls by model and result (ok or error).", labelNames: ["provider", "model", "result"], registers });
  const callTime = new Histogram({ name: "llmq_provider_request_duration_seconds", help: "One provider call, request to parsed response.", labelNames: ["provider", "model"], buckets: JOB_BUCKETS, registers });
  const tokens = new Counter({ name: "llmq_tokens_total", help: "Tokens by model and direction (input or output), as the provider reported them.", labelNames: ["provider", "model", "direction"], registers });
  const repairs = new Counter({ name: "llmq_repairs_total", help: "Repair turns sent for structured output that did not parse or validate.", labelNames: ["provider", "model"], registers });
  const repaired = new Counter({ name: "llmq_structured_outputs_total", help: "Structured answers checked to the end, by whether they needed a repair.", labelNames: ["provider", "model", "repaired"], registers });
  const remaining = new Gauge({ name: "llmq_capacity_remaining", help: "What a model's capacity bucket held after this worker's last use of it (requests or tokens), shared by every worker.", labelNames: ["provider", "model", "limit"], registers });
  const admitted = new Counter({ name: "llmq_capacity_admitted_total", help: "Provider calls admitted by the capacity buckets.", labelNames: ["provider", "model"], registers });
  const admittedTokens = new Counter({ name: "llmq_capacity_admitted_tokens_total", help: "Tokens charged to the capacity buckets at admission, by limit (before the correction from usage).", labelNames: ["provider", "model", "limit"], registers });
  const waits = new Counter({ name: "llmq_capacity_waits_total", help: "Jobs put back to wait for capacity, by the limit that was short (backoff: a 429 holds the model back).", labelNames: ["provider", "model", "limit"], registers });
  const waitTime = new Histogram({ name: "llmq_capacity_wait_seconds", help: "Each wait for capacity: a reserved turn waited in the slot, or the time a job was put back for.", labelNames: ["provider", "model"], buckets: JOB_BUCKETS, registers });
  const batchItems = new Counter({ name: "llmq_worker_batch_items_finished_total", help: "Batch items this worker ran to a final outcome, by status (completed or failed; a retried item counts once per round).", labelNames: ["status"], registers });
  const rateLimited = new Counter({ name: "llmq_provider_rate_limited_total", help: "429 rate-limit answers received from providers.", labelNames: ["provider", "model"], registers });

  if (options.identity !== undefined) {
    // Which process this is, for dashboards that list workers: its BullMQ name (host:pid) and version.
    const info = new Gauge({ name: "llmq_worker_info", help: "Always 1: this worker process's name in BullMQ (host:pid) and llmq's version.", labelNames: ["worker", "version"], registers });
    info.set({ worker: options.identity.name, version: options.identity.version }, 1);
  }

  const hook: WorkerMetrics = {
    jobOutcome(e) {
      jobs.inc({ provider: e.provider, type: e.type, outcome: e.outcome, code: e.code ?? "none" });
      attempt.observe({ provider: e.provider, type: e.type, outcome: e.outcome }, s(e.durationMs));
      if (e.batchItem === true && (e.outcome === "completed" || e.outcome === "failed")) batchItems.inc({ status: e.outcome });
      if (e.timings === undefined) return;
      const labels = { provider: e.provider, type: e.type };
      queueWait.observe(labels, s(e.timings.queuedMs));
      providerTime.observe(labels, s(e.timings.providerMs));
      validation.observe(labels, s(e.timings.validateMs));
    },
    providerCall(e) {
      calls.inc({ provider: e.provider, model: e.model, result: e.ok ? "ok" : "error" });
      callTime.observe({ provider: e.provider, model: e.model }, s(e.durationMs));
    },
    repairs(e) {
      if (e.count > 0) repairs.inc({ provider: e.provider, model: e.model }, e.count);
      repaired.inc({ provider: e.provider, model: e.model, repaired: e.count > 0 ? "true" : "false" });
    },
    tokens(e) {
      // A counter throws on a negative increment, and the hook must never throw.
      tokens.inc({ provider: e.provider, model: e.model, direction: "input" }, count(e.input));
      tokens.inc({ provider: e.provider, model: e.model, direction: "output" }, count(e.output));
    },
    capacity(e) {
      const labels = { provider: e.provider, model: e.model };
      for (const [limit, v] of Object.entries(e.remaining)) remaining.set({ ...labels, limit }, v);
      if (e.event === "admitted") {
        admitted.inc(labels);
        if (e.waitMs !== undefined) waitTime.observe(labels, s(e.waitMs));
        for (const [limit, v] of Object.entries(e.charged ?? {})) if (limit !== "requests") admittedTokens.inc({ ...labels, limit }, count(v));
      } else if (e.event === "refused") {
        waits.inc({ ...labels, limit: e.limit ?? "unknown" });
        waitTime.observe(labels, s(e.waitMs ?? 0));
      } else if (e.event === "rate_limited") {
        rateLimited.inc(labels);
      }
    },
  };
  return { registry, hook };
}

function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
