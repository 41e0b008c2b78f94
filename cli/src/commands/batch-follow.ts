import type { BatchView } from "../api-types.js";
import type { Ctx } from "../context.js";
import { EXIT } from "../errors.js";
import { follow, sumCounts } from "../follow.js";
import { downloadResults } from "../results.js";

/** --wait for submit and retry: follow to the end, download the results when asked, print the summary, pick the exit code. */
export async function finishFollowing(ctx: Ctx, ids: readonly string[], opts: { intervalMs: number; out: string | undefined }): Promise<number> {
  const views = await follow(ctx.api, ids, { intervalMs: opts.intervalMs, progress: ctx.err });
  const counts = sumCounts(views);
  const download = opts.out === undefined ? undefined : await downloadResults(ctx.api, ids, opts.out);
  if (ctx.json) {
    await ctx.out(`${JSON.stringify({ batches: views, counts, ...(download !== undefined && { out: { path: opts.out, lines: download.lines, by_status: download.byStatus } }) })}\n`);
  } else {
    for (const v of views) await ctx.out(`${summaryLine(v)}\n`);
    if (download !== undefined) await ctx.out(`results: ${download.lines} lines in ${opts.out}\n`);
  }
  return counts.failed + counts.cancelled > 0 ? EXIT.itemsFailed : EXIT.ok;
}

export function summaryLine(v: BatchView): string {
  const c = v.counts;
  const done = c.completed + c.failed + c.cancelled;
  return `${v.id}  ${v.status}  done ${done}/${c.total}  completed ${c.completed}  failed ${c.failed}  cancelled ${c.cancelled}${c.queued + c.active > 0 ? `  queued ${c.queued}  active ${c.active}` : ""}${v.retries ? `  retries ${v.retries}` : ""}`;
}
