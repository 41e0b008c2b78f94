import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deletePrefix, freePort, testPrefix } from "@llmq/shared/testing";
// Tests only: services never import each other.
import { createSimulator, type Simulator } from "../../services/simulator/src/index.js";
import { killAll, ROOT, startService, until, type Proc } from "./procs.js";

/**
 * /metrics from real processes: the API (dist/main.js) and a worker with WORKER_METRICS_PORT, fed through the
 * API's own routes against the simulator. Also: every series the Grafana dashboard queries is served.
 */
let sim: Simulator;
let api: Proc;
let worker: Proc;
let apiUrl = "";
let workerUrl = "";
let prefix = "";
const KEY = "metrics-key";

beforeAll(async () => {
  sim = createSimulator({});
  const { url: simUrl } = await sim.listen(0, "127.0.0.1");
  prefix = testPrefix("ops-metrics");
  const env = { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix, PROVIDER_MODE: "simulate", SIMULATOR_URL: simUrl, LOG_LEVEL: "info" };
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  worker = startService("worker", { ...env, WORKER_METRICS_PORT: String(metricsPort), WORKER_METRICS_HOST: "127.0.0.1", WORKER_CONCURRENCY: "4", JOB_BACKOFF_MS: "0" });
  api = startService("api", { ...env, API_KEY: KEY, HOST: "127.0.0.1", PORT: String(apiPort) });
  await Promise.all([worker.logged(/^worker started$/), api.logged(/listening/)]);
  apiUrl = `http://127.0.0.1:${apiPort}`;
  workerUrl = `http://127.0.0.1:${metricsPort}`;
});

afterAll(async () => {
  await killAll();
  await sim.close();
  const redis = new Redis(inject("redisUrl"));
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(apiUrl + path, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, matched by name and a label subset; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const SCHEMA = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };

describe("a worker's /metrics (WORKER_METRICS_PORT)", () => {
  it("counts jobs by outcome and code, splits job time, counts tokens, provider calls and repairs, and serves process metrics", async () => {
    const text = { model: "gpt-3.5-turbo", prompt: `Write two sentences about queues ${prefix}` };
    expect((await post("/api/v1/unstructured", text)).status).toBe(200);
    expect((await post("/api/v1/unstructured", { ...text, prompt: `${text.prompt} again` })).status).toBe(200);
    const repaired = await post("/api/v1/structured", { model: "gpt-3.5-turbo", prompt: `A user with name and age [[sim:bad-schema]] ${prefix}`, schema: SCHEMA });
    expect(repaired.status).toBe(200);
    expect(repaired.body.repairs).toBe(1);
    const failed = await post("/api/v1/unstructured", { model: "gpt-4", prompt: `[[sim:400]] Say hello ${prefix}` });
    expect(failed.status).toBe(502);

    const m = await scrape(workerUrl);
    for (const n of families(m)) workerFamilies.add(n);
    expect(sample(m, "llmq_jobs_total", { provider: "openai", type: "unstructured", outcome: "completed", code: "none" })).toBe(2);
    expect(sample(m, "llmq_jobs_total", { provider: "openai", type: "structured", outcome: "completed", code: "none" })).toBe(1);
    expect(sample(m, "llmq_jobs_total", { provider: "openai", type: "unstructured", outcome: "failed", code: "PROVIDER_ERROR" })).toBe(1);
    for (const phase of ["llmq_job_queue_wait_seconds", "llmq_job_provider_seconds", "llmq_job_validation_seconds"]) {
      expect(sample(m, `${phase}_count`, { provider: "openai", type: "unstructured" }), phase).toBe(2);
      expect(sample(m, `${phase}_count`, { provider: "openai", type: "structured" }), phase).toBe(1);
    }
    expect(sample(m, "llmq_job_provider_seconds_sum", { provider: "openai", type: "unstructured" })).toBeGreaterThan(0);
    expect(sample(m, "llmq_tokens_total", { model: "gpt-3.5-turbo", direction: "input" })).toBeGreaterThan(0);
    expect(sample(m, "llmq_tokens_total", { model: "gpt-3.5-turbo", direction: "output" })).toBeGreaterThan(0);
    // Two unstructured calls, the structured job's first answer and its repair.
    expect(sample(m, "llmq_provider_requests_total", { model: "gpt-3.5-turbo", result: "ok" })).toBe(4);
    expect(sample(m, "llmq_provider_requests_total", { model: "gpt-4", result: "error" })).toBe(1);
    expect(sample(m, "llmq_repairs_total", { model: "gpt-3.5-turbo" })).toBe(1);
    expect(sample(m, "llmq_structured_outputs_total", { model: "gpt-3.5-turbo", repaired: "true" })).toBe(1);
    // Node's process metrics under their standard names, labelled service="worker".
    expect(sample(m, "process_cpu_seconds_total", { service: "worker" })).toBeGreaterThan(0);
    expect(sample(m, "process_resident_memory_bytes", { service: "worker" })).toBeGreaterThan(0);
    expect(sample(m, "nodejs_eventloop_lag_p99_seconds", { service: "worker" })).toBeGreaterThanOrEqual(0);
    expectStandardNames(m, "worker");
    // Which process this is: its BullMQ name, host and pid.
    expect(sample(m, "llmq_worker_info", { worker: `${hostname()}:${worker.child.pid}`, version: "0.1.0" })).toBe(1);

    expect((await fetch(`${workerUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${workerUrl}/jobs`)).status).toBe(404);
  });

  it("batch items: submitted and active batches on the API, finished by status on the worker", async () => {
    const requests = [0, 1, 2].map((i) => ({ custom_id: `m${i}`, type: "unstructured", body: { model: "gpt-3.5-turbo", prompt: `Batch metric ${i} ${prefix}${i === 2 ? " [[sim:400xall]]" : ""}` } }));
    const submitted = await post("/api/v1/batches", { requests });
    expect(submitted.status).toBe(202);
    expect(sample(await scrape(apiUrl), "llmq_api_batch_items_submitted_total")).toBe(3);
    await until(async () => {
      const res = await fetch(`${apiUrl}/api/v1/batches/${String(submitted.body.id)}`, { headers: { "x-api-key": KEY } });
      return ((await res.json()) as { finished_at?: number }).finished_at !== undefined ? true : undefined;
    }, "the batch finished");
    const api = await scrape(apiUrl);
    expect(sample(api, "llmq_api_batches_submitted_total")).toBe(1);
    expect(sample(api, "llmq_batches_active")).toBe(0);
    const m = await scrape(workerUrl);
    expect(sample(m, "llmq_worker_batch_items_finished_total", { status: "completed" })).toBe(2);
    expect(sample(m, "llmq_worker_batch_items_finished_total", { status: "failed" })).toBe(1);
  });
});

describe("the API's /metrics", () => {
  it("requests by route and status, cache hits and misses, queue depth by state and workers read on scrape, process metrics", async () => {
    const body = { model: "gpt-3.5-turbo", prompt: `Cached hello ${prefix}`, cache: true };
    expect((await post("/api/v1/unstructured", body)).status).toBe(200);
    expect((await post("/api/v1/unstructured", body)).body.cached).toBe(true);

    let m = await scrape(apiUrl);
    expect(sample(m, "llmq_api_requests_total", { route: "/api/v1/unstructured", method: "POST", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(sample(m, "llmq_api_cache_requests_total", { outcome: "hit" })).toBe(1);
    expect(sample(m, "llmq_api_cache_requests_total", { outcome: "miss" })).toBe(1);
    expect(sample(m, "llmq_queue_workers", { queue: "jobs-openai" })).toBe(1);
    expect(sample(m, "llmq_queue_jobs", { queue: "jobs-openai", state: "waiting" })).toBe(0);
    expect(sample(m, "llmq_queue_jobs", { queue: "jobs-openai", state: "completed" })).toBeGreaterThan(0);
    expect(sample(m, "llmq_queue_scrape_ok")).toBe(1);
    expect(sample(m, "process_cpu_seconds_total", { service: "api" })).toBeGreaterThan(0);
    expect(sample(m, "nodejs_heap_size_used_bytes", { service: "api" })).toBeGreaterThan(0);
    expectStandardNames(m, "api");

    // With the worker gone, jobs wait: depth and workers follow on the next scrape.
    expect((await worker.stop("SIGTERM")).code).toBe(0);
    for (let i = 0; i < 3; i++) expect((await post("/api/v1/unstructured?async=true", { model: "gpt-4", prompt: `Later ${i} ${prefix}` })).status).toBe(202);
    m = await until(async () => {
      const t = await scrape(apiUrl);
      return sample(t, "llmq_queue_jobs", { queue: "jobs-openai", state: "waiting" }) === 3 ? t : undefined;
    }, "three waiting jobs in the scrape");
    expect(sample(m, "llmq_queue_workers", { queue: "jobs-openai" })).toBe(0);
  });
});

describe("ops/grafana/llmq-dashboard.json", () => {
  it("queries only series that llmq serves", async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, "ops/grafana/llmq-dashboard.json"), "utf8")) as { panels: { title: string; targets?: { expr: string }[] }[] };
    // The worker has stopped by now: its families were taken from its scrape in the first test.
    expect(workerFamilies.size).toBeGreaterThan(0);
    const apiFamilies = new Set(families(await scrape(apiUrl)));
    const served: Record<string, Set<string>> = { api: apiFamilies, worker: workerFamilies, any: new Set([...apiFamilies, ...workerFamilies]) };
    // Each series queried, with the service its selector names (process_* and nodejs_* are served by both).
    const queried = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        for (const [, n, service] of t.expr.matchAll(/\b((?:llmq|process|nodejs)_[a-z0-9_]+)(?:\{[^}]*service="(\w+)")?/g)) queried.add(`${n} ${service ?? "any"}`);
      }
    }
    expect(queried.size).toBeGreaterThan(20);
    expect([...queried].filter((q) => /^(process|nodejs)_/.test(q)).length).toBeGreaterThanOrEqual(6);
    for (const q of queried) {
      const [n, service] = q.split(" ") as [string, string];
      const names = served[service];
      expect(names, `${q}: a service llmq runs`).toBeDefined();
      expect(names!.has(n) || names!.has(n.replace(/_(bucket|sum|count)$/, "")), `${n} is served by ${service}`).toBe(true);
    }
  });
});

const workerFamilies = new Set<string>();

/**
 * llmq's own series are llmq_*; Node's process metrics keep their standard names (process_*, nodejs_*, which
 * stock Node.js dashboards query) and carry the service label; none is left under the old llmq_<service>_ prefix.
 */
function expectStandardNames(text: string, service: "api" | "worker"): void {
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  for (const line of lines) {
    expect(line).toMatch(/^(llmq|process|nodejs)_/);
    expect(line).not.toMatch(/^llmq_(api|worker)_(process|nodejs)_/);
    if (/^(process|nodejs)_/.test(line)) expect(line).toContain(`service="${service}"`);
  }
  expect(lines.filter((l) => /^(process|nodejs)_/.test(l)).length).toBeGreaterThan(10);
}

/** Metric family names in a scrape (its # TYPE lines). */
function families(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!);
}
