import { Gauge, type Registry } from "prom-client";
import { PROVIDERS, QUEUE_NAMES } from "@llmq/shared";
import type { JobQueues } from "../jobs/job-queues.js";

/** BullMQ v6's job states (a paused queue's jobs count as waiting); `completed`/`failed` are bounded by JOB_KEEP_*. */
export const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed"] as const;

/**
 * Queue depth by state and worker connections per queue, asked of BullMQ when Prometheus scrapes (one
 * pipelined getJobCounts and one CLIENT LIST per queue), never on the request path. Scrapes that come
 * together share one read, and a read is reused for a second: several Prometheus servers cost no more.
 * When Redis does not answer, the series disappear for that scrape (absent, not a stale number) and
 * `llmq_queue_scrape_ok` is 0.
 */
export function registerQueueMetrics(registry: Registry, queues: JobQueues, timeoutMs = 2000): void {
  type Snapshot = { queue: string; counts: Record<string, number>; workers: number }[] | undefined;
  let last: { at: number; value: Promise<Snapshot> } | undefined;
  const read = (): Promise<Snapshot> => {
    if (last !== undefined && performance.now() - last.at < 1000) return last.value;
    const value = withTimeout(
      Promise.all(
        PROVIDERS.map(async (p) => {
          const [counts, workers] = await Promise.all([queues[p].getJobCounts(...QUEUE_STATES), queues[p].getWorkersCount()]);
          return { queue: QUEUE_NAMES[p], counts, workers };
        }),
      ),
      timeoutMs,
    ).catch(() => undefined);
    last = { at: performance.now(), value };
    return value;
  };

  const registers = [registry];
  new Gauge({
    name: "llmq_queue_jobs",
    help: "Jobs in each BullMQ queue by state, read from Redis at scrape time.",
    labelNames: ["queue", "state"],
    registers,
    async collect() {
      this.reset();
      for (const q of (await read()) ?? []) for (const state of QUEUE_STATES) this.set({ queue: q.queue, state }, q.counts[state] ?? 0);
    },
  });
  new Gauge({
    name: "llmq_queue_workers",
    help: "Worker connections taking jobs from each queue (one per worker process serving it).",
    labelNames: ["queue"],
    registers,
    async collect() {
      this.reset();
      for (const q of (await read()) ?? []) this.set({ queue: q.queue }, q.workers);
    },
  });
  new Gauge({
    name: "llmq_queue_scrape_ok",
    help: "1 when the queue series of this scrape were read from Redis, 0 when Redis did not answer.",
    registers,
    async collect() {
      this.set((await read()) === undefined ? 0 : 1);
    },
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
