import type { Api } from "./http.js";
import type { ProgressSink } from "./progress.js";

/** What every command gets: the API, the output streams, and whether to print JSON. */
export interface Ctx {
  api: Api;
  json: boolean;
  /** stdout: ids, summaries, results. Resolves once written (backpressure for large outputs). */
  out(text: string): Promise<void>;
  /** stderr: progress and notes; `isTTY` picks the bar or plain lines. */
  err: ProgressSink;
}

export function note(ctx: Ctx, text: string): void {
  ctx.err.write(`${text}\n`);
}
