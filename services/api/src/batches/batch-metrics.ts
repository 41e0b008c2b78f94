import { Counter, Gauge, type Registry } from "prom-client";

/**
 * The batch series on the API's registry: items as they are submitted and retried, and the batches not finished
 * yet (read from Redis when scraped, so every replica reports the same shared figure). Items finished by status
 * are counted where they finish, on the worker's registry (llmq_worker_batch_items_finished_total).
 */
export interface BatchMetrics {
  readonly itemsSubmitted: Counter;
  readonly batchesSubmitted: Counter;
  readonly itemsRetried: Counter;
  readonly rateLimited: Counter;
}

export function createBatchMetrics(registry: Registry, runningCount: () => Promise<number>): BatchMetrics {
  const registers = [registry];
  new Gauge({
    name: "llmq_batches_active",
    help: "Batches not finished yet (queued or in progress), of every key.",
    registers,
    async collect() {
      this.set(await runningCount().catch(() => 0));
    },
  });
  return {
    itemsSubmitted: new Counter({ name: "llmq_api_batch_items_submitted_total", help: "Batch items accepted (stored) by POST /api/v1/batches.", registers }),
    batchesSubmitted: new Counter({ name: "llmq_api_batches_submitted_total", help: "Batches accepted by POST /api/v1/batches.", registers }),
    itemsRetried: new Counter({ name: "llmq_api_batch_items_retried_total", help: "Failed batch items put back to run again by POST /api/v1/batches/{id}/retry.", registers }),
    rateLimited: new Counter({ name: "llmq_api_batches_rate_limited_total", help: "Batch submits refused because their items exceed the key's rate limit.", registers }),
  };
}
