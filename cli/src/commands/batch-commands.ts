import type { BatchList, BatchView } from "../api-types.js";
import type { Ctx } from "../context.js";
import { note } from "../context.js";
import { ApiError, EXIT, UsageError } from "../errors.js";
import { downloadResults, printResults } from "../results.js";
import { finishFollowing, summaryLine } from "./batch-follow.js";

/** `llmq batch status|results|retry|cancel|list`. */
const path = (id: string, rest = ""): string => `/api/v1/batches/${encodeURIComponent(id)}${rest}`;

export async function statusCommand(ctx: Ctx, ids: readonly string[]): Promise<number> {
  const views = await Promise.all(ids.map((id) => ctx.api.json<BatchView>("GET", path(id))));
  if (ctx.json) await ctx.out(`${JSON.stringify(views.length === 1 ? views[0] : views)}\n`);
  else for (const v of views) await ctx.out(`${summaryLine(v)}\n`);
  return views.some((v) => v.counts.failed + v.counts.cancelled > 0) ? EXIT.itemsFailed : EXIT.ok;
}

export async function resultsCommand(ctx: Ctx, ids: readonly string[], out: string | undefined): Promise<number> {
  let byStatus: Record<string, number>;
  if (out === undefined) {
    byStatus = await printResults(ctx.api, ids, ctx.out);
  } else {
    const report = await downloadResults(ctx.api, ids, out);
    byStatus = report.byStatus;
    const summary = { path: out, lines: report.lines, appended: report.appended, already_there: report.kept, partial_line_removed: report.truncatedPartial, by_status: report.byStatus };
    if (ctx.json) await ctx.out(`${JSON.stringify(summary)}\n`);
    else await ctx.out(`${out}: ${report.lines} lines (${report.appended} new, ${report.kept} already there${report.truncatedPartial ? ", a partial last line removed" : ""}): ${Object.entries(byStatus).map(([s, n]) => `${s} ${n}`).join(", ")}\n`);
  }
  return Object.entries(byStatus).some(([s, n]) => s !== "completed" && n > 0) ? EXIT.itemsFailed : EXIT.ok;
}

export async function retryCommand(ctx: Ctx, ids: readonly string[], opts: { wait: boolean; out: string | undefined; intervalMs: number }): Promise<number> {
  if (opts.out !== undefined && !opts.wait) throw new UsageError("--out needs --wait (or download later: llmq batch results ID --out FILE)");
  const views: BatchView[] = [];
  for (const id of ids) {
    try {
      views.push(await ctx.api.json<BatchView>("POST", path(id, "/retry")));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "NOTHING_TO_RETRY")) throw err;
      note(ctx, `${id}: nothing to retry (${err.message})`);
      views.push(await ctx.api.json<BatchView>("GET", path(id)));
    }
  }
  if (ctx.json) await ctx.out(`${JSON.stringify({ batch_ids: ids })}\n`);
  else for (const id of ids) await ctx.out(`${id}\n`);
  if (!opts.wait) {
    if (ctx.json) await ctx.out(`${JSON.stringify({ batches: views })}\n`);
    else for (const v of views) await ctx.out(`${summaryLine(v)}\n`);
    return EXIT.ok;
  }
  return finishFollowing(ctx, ids, { intervalMs: opts.intervalMs, out: opts.out });
}

export async function cancelCommand(ctx: Ctx, ids: readonly string[]): Promise<number> {
  for (const id of ids) {
    const view = await ctx.api.json<BatchView>("POST", path(id, "/cancel"));
    await ctx.out(ctx.json ? `${JSON.stringify(view)}\n` : `${summaryLine(view)}\n`);
  }
  return EXIT.ok;
}

export async function listCommand(ctx: Ctx, opts: { limit: number; cursor: string | undefined; all: boolean }): Promise<number> {
  let cursor = opts.cursor;
  for (;;) {
    const query = `?limit=${opts.limit}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = await ctx.api.json<BatchList>("GET", `/api/v1/batches${query}`);
    if (ctx.json) await ctx.out(`${JSON.stringify(page)}\n`);
    else for (const v of page.data) await ctx.out(`${summaryLine(v)}  created ${new Date(v.created_at).toISOString()}\n`);
    cursor = page.next_cursor;
    if (cursor === undefined) return EXIT.ok;
    if (!opts.all) {
      if (!ctx.json) await ctx.out(`next page: llmq batch list --cursor ${cursor}\n`);
      return EXIT.ok;
    }
  }
}
