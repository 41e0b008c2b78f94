/**
 * Rounds: how `npm run bench` turns repeated cells into one figure on a shared, noisy machine.
 *
 * Every sync target is measured once per round, all targets of a round back to back, and a ratio between two
 * targets is taken within each round (the two cells seconds apart, under the same neighbours), then the median
 * of those paired ratios is the figure; the range across rounds is printed beside it. A peer measured minutes
 * after llmq, as in one pass per target, would carry whatever the machine did in between into the ratio.
 * Invariants: a figure is always a value that was measured (the median of an even count is the lower middle,
 * not an average of two), and a round missing either side of a pair is left out of that pair, never counted
 * as zero.
 */

/** The median of measured values (the lower middle for an even count); null when there are none. */
export function medianOf(values: readonly number[]): number | null {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
}

/** The index of the round whose value is the median (ties: the first such round). */
export function medianIndex(values: readonly number[]): number {
  const m = medianOf(values);
  return m === null ? 0 : Math.max(0, values.indexOf(m));
}

export interface PairedRatio {
  /** The median of the rounds' ratios. */
  median: number | null;
  min: number | null;
  max: number | null;
  /** One per round: a / b of that round, null where either side is missing or b is zero. */
  rounds: (number | null)[];
}

/** a[i] / b[i] for each round i, summed up as median and range. */
export function pairedRatio(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): PairedRatio {
  return summarise(
    a.map((x, i) => {
      const y = b[i];
      return x === undefined || y === undefined || !(y > 0) ? null : x / y;
    }),
  );
}

/** Each round's ratio (null where not measured), summed up as median and range. */
export function summarise(rounds: (number | null)[]): PairedRatio {
  const known = rounds.filter((r): r is number => r !== null);
  return { median: medianOf(known), min: known.length ? Math.min(...known) : null, max: known.length ? Math.max(...known) : null, rounds };
}

/** "1.45 (1.31–1.62)", or just "1.45" for one round, or "n/a". */
export function formatPaired(r: PairedRatio | null | undefined, digits = 2): string {
  if (r === null || r === undefined || r.median === null) return "n/a";
  const known = r.rounds.filter((x) => x !== null).length;
  if (known <= 1 || r.min === null || r.max === null) return r.median.toFixed(digits);
  return `${r.median.toFixed(digits)} (${r.min.toFixed(digits)}–${r.max.toFixed(digits)})`;
}
