import type { BatchCounts } from "./api-types.js";

/**
 * Progress of one or more batches followed as one: done (completed + failed + cancelled) of total, failed, the
 * rate over the last RATE_WINDOW_MS and an ETA from it. On a terminal it redraws one line with a bar (ANSI: carriage
 * return + erase line); elsewhere (a pipe, a CI log, a test) it prints a plain line whenever the counts changed.
 */
export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

const RATE_WINDOW_MS = 10_000;
const BAR_WIDTH = 30;

export class Progress {
  private readonly samples: { at: number; done: number }[] = [];
  private last = "";
  private drawn = false;

  constructor(
    private readonly out: ProgressSink,
    private readonly now: () => number = Date.now,
  ) {}

  update(counts: BatchCounts): void {
    const done = counts.completed + counts.failed + counts.cancelled;
    const at = this.now();
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > RATE_WINDOW_MS) this.samples.shift();
    const line = describe(counts, this.rate(), this.out.isTTY === true ? bar(done, counts.total) : undefined);
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (stripRate(line) !== stripRate(this.last)) {
      this.out.write(`${line}\n`);
    }
    this.last = line;
  }

  /** Ends the redrawn line (a terminal) so what follows starts on its own line. */
  finish(): void {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }

  /** Items finished per second over the window; undefined before two samples. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (first === undefined || last === undefined || last.at <= first.at) return undefined;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }
}

export function describe(c: BatchCounts, rate: number | undefined, barText?: string): string {
  const done = c.completed + c.failed + c.cancelled;
  const pct = c.total === 0 ? 100 : (100 * done) / c.total;
  const parts = [`${barText === undefined ? "" : `${barText} `}done ${done}/${c.total} (${pct.toFixed(1)}%)`, `failed ${c.failed}`];
  if (c.cancelled > 0) parts.push(`cancelled ${c.cancelled}`);
  parts.push(`active ${c.active}`);
  parts.push(`rate ${rate === undefined ? "-" : `${rate.toFixed(1)}/s`}`);
  const left = c.total - done;
  parts.push(`ETA ${left === 0 ? "0s" : rate === undefined || rate <= 0 ? "-" : duration(left / rate)}`);
  return parts.join("  ");
}

function bar(done: number, total: number): string {
  const filled = total === 0 ? BAR_WIDTH : Math.round((BAR_WIDTH * done) / total);
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
}

export function duration(s: number): string {
  if (!Number.isFinite(s)) return "-";
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A plain line is printed when the counts changed, not when only the rate or ETA moved. */
function stripRate(line: string): string {
  return line.replace(/\s+rate .*$/, "");
}
