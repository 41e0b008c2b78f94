/**
 * One load run's figures, whichever generator produced them (wrk's LLMQ_RESULT line from
 * load/wrk/lib/report.lua, or the built-in closed-loop generator). Latencies in milliseconds.
 */
export interface LoadResult {
  requests: number;
  duration_s: number;
  rps: number;
  avg_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Answers outside 200-299. */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socket_errors: number;
  errors: number;
  statuses: Record<string, number>;
  /**
   * When a warm-up was asked for (steadyAfterS): answers per second after it, to the end of the run, and the
   * seconds that covers. Many connections against a slow provider take a while to fill the pipeline, and a
   * whole-run rate would count that filling against whatever is slowest to fill.
   */
  steady_rps?: number;
  steady_s?: number;
}

/** The value at percentile p (0-100) of ascending-sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}
