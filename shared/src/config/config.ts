import { createHash } from "node:crypto";
import { PROVIDERS, type ProviderName } from "../contracts/providers.js";
import { FieldReader, type ConfigIssue, type Env } from "./fields.js";

export const PROVIDER_MODES = ["auto", "live", "simulate"] as const;
export type ProviderMode = (typeof PROVIDER_MODES)[number];

export interface ApiKeyEntry {
  /** Display and ownership name: jobs, batches and schemas belong to it. Not secret. */
  name: string;
  /** sha256 hex of the key. The key itself is dropped once hashed. */
  hash: string;
}

export interface ProviderConfig {
  name: ProviderName;
  /** Secret. Never log it: the logger redacts `apiKey` wherever it appears. */
  apiKey: string | undefined;
  /** The live provider's base URL as its SDK expects it (no trailing slash). */
  baseUrl: string;
  /** True when this provider is served by the simulator (PROVIDER_MODE, or auto without a key). */
  simulated: boolean;
  /** Worker concurrency for this provider's queue. */
  concurrency: number;
  /**
   * The provider's rate limits for each of its models that the models file gives none of its own
   * (providers count limits per model): requests and tokens per minute; Anthropic counts input and output
   * tokens apart. Unset = learned from the provider's rate-limit headers.
   */
  limits: RateLimits;
}

/** Per-minute limits of one model; every field optional (unset = none configured). */
export interface RateLimits {
  rpm?: number | undefined;
  /** Prompt + max tokens per minute (OpenAI, Groq). */
  tpm?: number | undefined;
  /** Input tokens per minute (Anthropic). */
  itpm?: number | undefined;
  /** Output tokens per minute (Anthropic). */
  otpm?: number | undefined;
}

export interface Config {
  env: string;
  logLevel: string;
  version: string;
  redis: RedisSettings;
  api: {
    host: string;
    port: number;
    keys: ApiKeyEntry[];
    /** sha256 of ADMIN_API_KEY; the dashboard is off when undefined. */
    adminKeyHash: string | undefined;
    bodyLimitBytes: number;
    defaultWaitS: number;
    maxWaitS: number;
    /** Requests per minute per API key, shared by all replicas; 0 = no limit. */
    rateLimitPerMin: number;
    cacheTtlS: number;
    idempotencyTtlS: number;
    maxMessages: number;
    shutdownGraceMs: number;
    /**
     * Sync requests per BullMQ job (1 = a job per request). While an add to a provider's queue is on its way to
     * Redis, the sync requests that arrive meanwhile are added together as one job when it returns, whose
     * requests a worker runs side by side (jobs/sync-groups.ts). A request at rest is added alone at once.
     */
    syncJobRequests: number;
  };
  schema: { maxBytes: number; maxDepth: number; maxNodes: number; cacheSize: number; compileBudgetMs: number };
  jobs: {
    attempts: number;
    backoffMs: number;
    resultTtlS: number;
    keepCompletedS: number;
    keepCompletedCount: number;
    keepFailedS: number;
    keepFailedCount: number;
    structuredMaxRepairs: number;
  };
  batch: {
    maxItems: number;
    /** The batch route's own body limit (JSON or NDJSON); every other route keeps BODY_LIMIT. */
    bodyLimitBytes: number;
    /** How often a worker's batch feeder looks at its queues (it is also woken when a batch arrives). */
    feedIntervalMs: number;
    /** Feed a provider's queue while fewer jobs than this wait in it; 0 = max(100, 2 × that provider's concurrency). */
    feedLowWater: number;
    /** How often one worker looks for batch items BullMQ failed without the runner (stalled too often). */
    reconcileIntervalMs: number;
    /**
     * Batch items per BullMQ job: a worker runs a batch job's items one after another in one slot (1 = a job per
     * item). BullMQ's add, fetch and finish of a job cost more than llmq's own steps for an item; sharing them
     * between several items is most of a batch's throughput on a busy worker.
     */
    jobItems: number;
  };
  /** Files uploaded to POST /v1/files (the OpenAI-compatible Batch API's input), kept in Redis. */
  files: {
    /** Largest file accepted (413 above it). */
    maxBytes: number;
    /** How long an uploaded file, and a /v1 batch's record, is kept. */
    ttlS: number;
  };
  worker: {
    concurrency: number;
    providerTimeoutMs: number;
    shutdownGraceMs: number;
    /** Port of the worker's own /metrics server; 0 = no server. */
    metricsPort: number;
    metricsHost: string;
    /** Longest single pause a 429's retry-after may impose on a provider's queue. */
    maxRateLimitWaitMs: number;
    /** How long a job may keep meeting 429s (from its first) before it fails with PROVIDER_RATE_LIMITED. */
    rateLimitMaxWaitS: number;
    /** The capacity buckets' burst: this many seconds of each per-minute limit. */
    capacityBurstS: number;
    /** A call whose capacity frees up within this long reserves it and waits in its slot; longer waits give the slot back. */
    capacityHoldMs: number;
    /** BullMQ lockDuration: a job whose worker died is considered stalled after this. */
    lockDurationMs: number;
    /** BullMQ stalledInterval: how often a worker looks for stalled jobs and puts them back. */
    stalledIntervalMs: number;
  };
  providerMode: ProviderMode;
  providers: Record<ProviderName, ProviderConfig>;
  modelsFile: string | undefined;
  simulator: {
    /** Where simulated providers are reached (the worker's base URL for them). */
    url: string;
    host: string;
    port: number;
    latencyMs: number;
    tokensPerS: number | null;
    faults: string;
    seed: string;
    limits: string;
  };
}

/** Where Redis is: one server (`url`), or a Redis Cluster reached through `clusterNodes` (then `url` is unused). */
export interface RedisSettings {
  url: string;
  prefix: string;
  /** REDIS_CLUSTER_NODES: the cluster's seed nodes; ioredis learns the rest from them. Absent: a single Redis. */
  clusterNodes?: ClusterNodeAddress[];
}

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `llmq configuration is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.variable}: ${i.problem}. Fix: ${i.fix}.`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

const LIVE_BASE_URLS: Record<ProviderName, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  groq: "https://api.groq.com",
};

/** The path each SDK's baseURL needs on the simulator (the simulator speaks each provider's own paths). */
export const SIMULATOR_BASE_PATHS: Record<ProviderName, string> = {
  openai: "/v1",
  anthropic: "",
  groq: "",
};

function parseKeys(r: FieldReader): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const single = r.optStr("API_KEY");
  if (single !== undefined) entries.push({ name: "default", hash: hashSecret(single) });
  const many = r.optStr("API_KEYS");
  if (many !== undefined) {
    many.split(",").map((s) => s.trim()).filter(Boolean).forEach((item, i) => {
      const colon = item.indexOf(":");
      const name = colon > 0 ? item.slice(0, colon).trim() : `key${i + 1}`;
      const key = colon > 0 ? item.slice(colon + 1).trim() : item;
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || key.length === 0) {
        r.problem("API_KEYS", `entry ${i + 1} is not name:key`, "use a comma-separated list of name:key (names: letters, digits, _ . -)");
        return;
      }
      entries.push({ name, hash: hashSecret(key) });
    });
  }
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) r.problem("API_KEYS", `the name "${e.name}" is used twice`, "give every key its own name");
    seen.add(e.name);
  }
  return entries;
}

function sizeBytes(r: FieldReader, name: string, def: number): number {
  const v = r.raw(name);
  if (v === undefined) return def;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb)?$/i.exec(v);
  if (!m) {
    r.problem(name, `"${v}" is not a size`, `set ${name} to bytes or a size like 512kb or 1mb`);
    return def;
  }
  const unit = (m[2] ?? "b").toLowerCase();
  return Math.round(Number(m[1]) * (unit === "mb" ? 1024 * 1024 : unit === "kb" ? 1024 : 1));
}

/** Parses and checks every variable llmq reads. Throws ConfigError listing every problem at once. */
export function parseConfig(env: Env): Config {
  const r = new FieldReader(env);
  const providerMode = r.oneOf("PROVIDER_MODE", PROVIDER_MODES, "auto");
  const simulatorUrl = r.url("SIMULATOR_URL", `http://127.0.0.1:${r.int("SIMULATOR_PORT", 8100, 0, 65535)}`);
  const concurrency = r.int("WORKER_CONCURRENCY", 50, 1, 10_000);

  const providers = {} as Record<ProviderName, ProviderConfig>;
  for (const name of PROVIDERS) {
    const upper = name.toUpperCase();
    const apiKey = r.optStr(`${upper}_API_KEY`);
    if (providerMode === "live" && apiKey === undefined) {
      r.problem(`${upper}_API_KEY`, "is missing and PROVIDER_MODE=live", `set ${upper}_API_KEY, or use PROVIDER_MODE=auto to simulate providers without a key`);
    }
    const simulated = providerMode === "simulate" || (providerMode === "auto" && apiKey === undefined);
    providers[name] = {
      name,
      apiKey,
      baseUrl: simulated ? simulatorUrl + SIMULATOR_BASE_PATHS[name] : r.url(`${upper}_BASE_URL`, LIVE_BASE_URLS[name]),
      simulated,
      concurrency: r.int(`WORKER_CONCURRENCY_${upper}`, concurrency, 1, 10_000),
      limits: {
        rpm: r.optInt(`${upper}_RPM`, 1),
        ...(name === "anthropic"
          ? { itpm: r.optInt(`${upper}_ITPM`, 1), otpm: r.optInt(`${upper}_OTPM`, 1) }
          : { tpm: r.optInt(`${upper}_TPM`, 1) }),
      },
    };
  }

  const config: Config = {
    env: r.str("NODE_ENV", "development"),
    logLevel: r.oneOf("LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    version: r.str("LLMQ_VERSION", "0.1.0"),
    redis: {
      url: r.url("REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
      prefix: validPrefix(r),
      ...clusterNodes(r),
    },
    api: {
      host: r.str("HOST", "0.0.0.0"),
      port: r.int("PORT", 8000, 0, 65535),
      keys: parseKeys(r),
      adminKeyHash: ((k) => (k === undefined ? undefined : hashSecret(k)))(r.optStr("ADMIN_API_KEY")),
      bodyLimitBytes: sizeBytes(r, "BODY_LIMIT", 1024 * 1024),
      defaultWaitS: r.num("DEFAULT_WAIT_S", 30, 0, 120),
      maxWaitS: r.num("MAX_WAIT_S", 120, 1, 3600),
      rateLimitPerMin: r.int("RATE_LIMIT_PER_MIN", 0, 0),
      cacheTtlS: r.int("CACHE_TTL_S", 3600, 1),
      idempotencyTtlS: r.int("IDEMPOTENCY_TTL_S", 86_400, 1),
      maxMessages: r.int("MAX_MESSAGES", 1000, 1),
      shutdownGraceMs: r.int("API_SHUTDOWN_GRACE_MS", 10_000, 0),
      syncJobRequests: r.int("SYNC_JOB_REQUESTS", 16, 1, 64),
    },
    schema: {
      maxBytes: sizeBytes(r, "SCHEMA_MAX_BYTES", 64 * 1024),
      maxDepth: r.int("SCHEMA_MAX_DEPTH", 32, 1, 1000),
      maxNodes: r.int("SCHEMA_MAX_NODES", 5000, 1),
      cacheSize: r.int("SCHEMA_CACHE_SIZE", 1000, 1),
      compileBudgetMs: r.int("SCHEMA_COMPILE_BUDGET_MS", 250, 1),
    },
    jobs: {
      attempts: r.int("JOB_ATTEMPTS", 5, 1, 100),
      backoffMs: r.int("JOB_BACKOFF_MS", 1000, 0),
      resultTtlS: r.int("RESULT_TTL_S", 86_400, 1),
      keepCompletedS: r.int("JOB_KEEP_COMPLETED_S", 3600, 0),
      keepCompletedCount: r.int("JOB_KEEP_COMPLETED_COUNT", 1000, 0),
      keepFailedS: r.int("JOB_KEEP_FAILED_S", 86_400, 0),
      keepFailedCount: r.int("JOB_KEEP_FAILED_COUNT", 5000, 0),
      structuredMaxRepairs: r.int("STRUCTURED_MAX_REPAIRS", 2, 0, 10),
    },
    batch: {
      maxItems: r.int("BATCH_MAX_ITEMS", 10_000, 1, 50_000),
      bodyLimitBytes: sizeBytes(r, "BATCH_BODY_LIMIT", 64 * 1024 * 1024),
      feedIntervalMs: r.int("BATCH_FEED_INTERVAL_MS", 100, 10, 60_000),
      feedLowWater: r.int("BATCH_FEED_LOW_WATER", 0, 0, 100_000),
      reconcileIntervalMs: r.int("BATCH_RECONCILE_INTERVAL_MS", 30_000, 100),
      jobItems: r.int("BATCH_JOB_ITEMS", 8, 1, 64),
    },
    files: {
      // 10,000 lines of a few KB each: the default batch at BATCH_MAX_ITEMS with room to spare.
      maxBytes: sizeBytes(r, "FILE_MAX_BYTES", 64 * 1024 * 1024),
      ttlS: r.int("FILE_TTL_S", 7 * 86_400, 60),
    },
    worker: {
      concurrency,
      providerTimeoutMs: r.int("PROVIDER_TIMEOUT_MS", 120_000, 100),
      shutdownGraceMs: r.int("WORKER_SHUTDOWN_GRACE_MS", 30_000, 0),
      metricsPort: r.int("WORKER_METRICS_PORT", 0, 0, 65535),
      metricsHost: r.str("WORKER_METRICS_HOST", "0.0.0.0"),
      maxRateLimitWaitMs: r.int("MAX_RATE_LIMIT_WAIT_MS", 60_000, 0),
      rateLimitMaxWaitS: r.int("RATE_LIMIT_MAX_WAIT_S", 600, 0),
      capacityBurstS: r.num("CAPACITY_BURST_S", 1, 0.05, 60),
      capacityHoldMs: r.int("CAPACITY_HOLD_MS", 500, 0, 60_000),
      lockDurationMs: r.int("WORKER_LOCK_DURATION_MS", 30_000, 500),
      stalledIntervalMs: r.int("WORKER_STALLED_INTERVAL_MS", 30_000, 100),
    },
    providerMode,
    providers,
    modelsFile: r.optStr("MODELS_FILE"),
    simulator: {
      url: simulatorUrl,
      host: r.str("SIMULATOR_HOST", "127.0.0.1"),
      port: r.int("SIMULATOR_PORT", 8100, 0, 65535),
      latencyMs: r.num("SIM_LATENCY_MS", 0, 0, 600_000),
      tokensPerS: ((v) => (v === undefined ? null : r.num("SIM_TOKENS_PER_S", 0, 0.001)))(r.raw("SIM_TOKENS_PER_S")),
      faults: r.str("SIM_FAULTS", ""),
      seed: r.str("SIM_SEED", "llmq"),
      limits: r.str("SIM_LIMITS", ""),
    },
  };
  if (config.api.defaultWaitS > config.api.maxWaitS) {
    r.problem("DEFAULT_WAIT_S", `is larger than MAX_WAIT_S (${config.api.maxWaitS})`, "lower DEFAULT_WAIT_S or raise MAX_WAIT_S");
  }
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return config;
}

/** REDIS_CLUSTER_NODES=host:port,host:port,…; unset or empty = a single Redis at REDIS_URL. */
function clusterNodes(r: FieldReader): { clusterNodes?: ClusterNodeAddress[] } {
  const raw = r.optStr("REDIS_CLUSTER_NODES");
  if (raw === undefined) return {};
  const nodes: ClusterNodeAddress[] = [];
  for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (m === null || port < 1 || port > 65535) {
      r.problem("REDIS_CLUSTER_NODES", `"${item}" is not host:port`, "list the cluster's nodes as host:port,host:port (one is enough: the others are discovered)");
      return {};
    }
    nodes.push({ host: (m[1] as string).replace(/^\[|\]$/g, ""), port });
  }
  if (nodes.length === 0) {
    r.problem("REDIS_CLUSTER_NODES", "lists no node", "list the cluster's nodes as host:port,host:port, or unset it for a single Redis at REDIS_URL");
    return {};
  }
  return { clusterNodes: nodes };
}

function validPrefix(r: FieldReader): string {
  const prefix = r.str("REDIS_PREFIX", "llmq");
  // A Cluster hash tag `{…}` is allowed; `:` inside the prefix would confuse BullMQ's key layout.
  if (!/^(\{[A-Za-z0-9_.-]+\}|[A-Za-z0-9_.-]+)([A-Za-z0-9_.-]*)$/.test(prefix)) {
    r.problem("REDIS_PREFIX", `"${prefix}" is not a valid prefix`, "use letters, digits, _ . - and optionally one {hash-tag}, e.g. llmq or {llmq}");
    return "llmq";
  }
  return prefix;
}
