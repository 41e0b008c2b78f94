import type { BatchCounts, BatchView } from "./api-types.js";
import type { Api } from "./http.js";
import { Progress, type ProgressSink } from "./progress.js";

/**
 * Follows batches until every one has finished, polling each (GET /api/v1/batches/{id}) every `intervalMs` and
 * showing their summed counts as one progress. Returns the final views.
 */
export async function follow(api: Api, ids: readonly string[], opts: { intervalMs: number; progress?: ProgressSink | undefined }): Promise<BatchView[]> {
  const progress = opts.progress === undefined ? undefined : new Progress(opts.progress);
  for (;;) {
    const views = await Promise.all(ids.map((id) => api.json<BatchView>("GET", `/api/v1/batches/${encodeURIComponent(id)}`)));
    progress?.update(sumCounts(views));
    if (views.every((v) => v.finished_at !== undefined)) {
      progress?.finish();
      return views;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

export function sumCounts(views: readonly BatchView[]): BatchCounts {
  const sum: BatchCounts = { total: 0, queued: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const v of views) for (const k of Object.keys(sum) as (keyof BatchCounts)[]) sum[k] += v.counts[k];
  return sum;
}
