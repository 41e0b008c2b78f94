import type { RedisConnection } from "@llmq/shared";
import { bucketBurstMs, bucketHeadroomMs, capacityKey, configuredLimits, createKeys, PROVIDER_DIMS, PROVIDERS, QUEUE_NAMES, viewCapacity, type Config, type ModelCapacityView, type ModelRegistry, type ProviderName } from "@llmq/shared";
import type { JobQueues } from "../jobs/job-queues.js";

export interface QueueHealth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  workers: number;
  /** Each worker's name in BullMQ (`host:pid` for llmq's workers), when Redis lists client names. */
  worker_names: string[];
}

export interface HealthSnapshot {
  status: "ok" | "degraded" | "unavailable";
  redis: "up" | "down";
  queues: Record<string, QueueHealth>;
  /** Worker connections on the busiest queue: one per worker process in the standard deployment. */
  workers: number;
  /** Each provider's capacity, per model with limits (configured or learned) or a history (capacity buckets). */
  providers?: Record<ProviderName, { models: ModelCapacityView[] }>;
}

const MAX_AGE_MS = 1000;

/**
 * Health is polled hard (load balancers, the guide's wrk run), and its detail costs Redis work (counts per
 * queue, CLIENT LIST for workers). So one snapshot is computed at most once a second per process, by one
 * request at a time; the others share it. A connection that is not ready answers "down" at once.
 */
export class HealthService {
  private snapshot: HealthSnapshot | undefined;
  private takenAt = 0;
  private inFlight: Promise<HealthSnapshot> | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly queues: JobQueues,
    private readonly config: Config,
    private readonly models: ModelRegistry,
  ) {}

  async current(): Promise<HealthSnapshot> {
    if (this.redis.status !== "ready") return down();
    if (this.snapshot !== undefined && performance.now() - this.takenAt < MAX_AGE_MS) return this.snapshot;
    this.inFlight ??= this.take().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async take(): Promise<HealthSnapshot> {
    let snapshot: HealthSnapshot;
    try {
      const per = await Promise.all(
        PROVIDERS.map(async (p) => {
          const q = this.queues[p];
          const [counts, clients] = await Promise.all([q.getJobCounts("waiting", "active", "delayed", "failed"), q.getWorkers()]);
          const names = clients.map(workerName).filter((n): n is string => n !== undefined).sort();
          return [QUEUE_NAMES[p], { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, workers: clients.length, worker_names: names }] as const;
        }),
      );
      const workers = Math.max(0, ...per.map(([, h]) => h.workers));
      snapshot = { status: workers > 0 ? "ok" : "degraded", redis: "up", queues: Object.fromEntries(per), workers, providers: await this.capacity() };
    } catch {
      snapshot = down();
    }
    this.snapshot = snapshot;
    this.takenAt = performance.now();
    return snapshot;
  }

  /** Every registry model's capacity hash (one key each, in slots of their own on a cluster: sent together), refilled to now for display. */
  private async capacity(): Promise<Record<ProviderName, { models: ModelCapacityView[] }>> {
    const keys = createKeys(this.config.redis.prefix);
    const models = this.models.list();
    const res = await Promise.all(models.map((m) => this.redis.hgetall(capacityKey(keys, m.provider, m.id))));
    const out = Object.fromEntries(PROVIDERS.map((p) => [p, { models: [] as ModelCapacityView[] }])) as Record<ProviderName, { models: ModelCapacityView[] }>;
    const now = Date.now();
    const burstMs = bucketBurstMs(this.config.worker.capacityBurstS);
    const headroomMs = bucketHeadroomMs(burstMs);
    models.forEach((m, i) => {
      const hash = res[i] ?? {};
      const view = viewCapacity(m.id, PROVIDER_DIMS[m.provider], configuredLimits(this.config, m), hash, now, burstMs, headroomMs);
      if (view !== undefined) out[m.provider].models.push(view);
    });
    return out;
  }
}

/** A named BullMQ worker's connection is called `<queue client name>:w:<name>`. */
function workerName(client: Record<string, string>): string | undefined {
  const raw = client.rawname ?? "";
  const at = raw.indexOf(":w:");
  return at < 0 ? undefined : raw.slice(at + 3);
}

function down(): HealthSnapshot {
  return { status: "unavailable", redis: "down", queues: {}, workers: 0 };
}
