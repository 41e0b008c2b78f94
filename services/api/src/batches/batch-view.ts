import { BATCH_STATUSES, type BatchCounts, type BatchStatus, type BatchView } from "@llmq/shared";
import type { BatchMeta } from "./batch-store.js";

/** The meta hash as the API shows it. */
export function batchView(id: string, meta: BatchMeta): BatchView {
  const n = (field: string): number => Number(meta[field] ?? 0);
  const counts: BatchCounts = { total: n("total"), queued: n("queued"), active: n("active"), completed: n("completed"), failed: n("failed"), cancelled: n("cancelled") };
  const status = (BATCH_STATUSES as readonly string[]).includes(meta.status ?? "") ? (meta.status as BatchStatus) : "queued";
  const view: BatchView = { id, object: "batch", status, counts, created_at: n("created_at") };
  if (meta.started_at !== undefined) view.started_at = n("started_at");
  if (meta.finished_at !== undefined) view.finished_at = n("finished_at");
  if (meta.cancel_requested_at !== undefined) view.cancel_requested_at = n("cancel_requested_at");
  if (meta.round !== undefined) view.retries = n("round");
  if (meta.metadata !== undefined) view.metadata = JSON.parse(meta.metadata) as Record<string, string>;
  return view;
}
