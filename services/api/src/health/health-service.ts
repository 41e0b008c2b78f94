import type { Redis } from "ioredis";
import { PROVIDERS, QUEUE_NAMES } from "@llmq/shared";
import type { JobQueues } from "../jobs/job-queues.js";

export interface QueueHealth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  workers: number;
}

export interface HealthSnapshot {
  status: "ok" | "degraded" | "unavailable";
  redis: "up" | "down";
  queues: Record<string, QueueHealth>;
  /** Worker connections on the busiest queue: one per worker process in the standard deployment. */
  workers: number;
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
    private readonly redis: Redis,
    private readonly queues: JobQueues,
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
          const [counts, workers] = await Promise.all([q.getJobCounts("waiting", "active", "delayed", "failed"), q.getWorkersCount()]);
          return [QUEUE_NAMES[p], { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, workers }] as const;
        }),
      );
      const workers = Math.max(0, ...per.map(([, h]) => h.workers));
      snapshot = { status: workers > 0 ? "ok" : "degraded", redis: "up", queues: Object.fromEntries(per), workers };
    } catch {
      snapshot = down();
    }
    this.snapshot = snapshot;
    this.takenAt = performance.now();
    return snapshot;
  }
}

function down(): HealthSnapshot {
  return { status: "unavailable", redis: "down", queues: {}, workers: 0 };
}
