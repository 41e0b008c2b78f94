/**
 * The bench's report: the figures `npm run bench` writes as JSON (load/results/bench-*.json; compare commits by
 * them) and the one table it prints from them.
 */
import { rawEnv } from "@llmq/shared";
import type { BatchFigures } from "./batch-bench.js";
import type { PlainDrainFigures } from "./baseline/plain-drain.js";
import type { InFlightFigures } from "./inflight-bench.js";
import type { LoadResult } from "./load-result.js";
import type { machine } from "./proc-stats.js";
import { formatPaired, medianOf, summarise, type PairedRatio } from "./rounds.js";
import type { TableRow } from "./table.js";

export type TargetId = "simulator" | "unstructured" | "structured_new_schema" | "structured_same_schema" | "plain_unstructured" | "portkey_unstructured";
export const PROCESSES = ["api", "worker", "simulator", "redis"] as const;
export type ProcName = (typeof PROCESSES)[number];

/** One target at one connection count in one round. */
export interface RoundFigures {
  round: number;
  result: LoadResult;
  cpu_ms_per_request: Record<ProcName, number | null>;
  rss_mb_after: Record<ProcName, number | null>;
}

export interface Cell {
  target: TargetId;
  label: string;
  connections: number;
  /** The round with the median req/s (its latencies and CPU are the cell's). */
  result: LoadResult;
  /** The median of the per-round ratios (see `paired`). */
  ratio_to_simulator: number | null;
  /** llmq unstructured only: its req/s over the plain build's at the same connections. */
  ratio_to_plain?: number | null;
  /** llmq unstructured only: its req/s over the Portkey gateway's at the same connections. */
  ratio_to_portkey?: number | null;
  cpu_ms_per_request: Record<ProcName, number | null>;
  rss_mb_after: Record<ProcName, number | null>;
  /** Every round's figures, in order (absent in reports written before the bench had rounds). */
  rounds?: RoundFigures[];
  /** Ratios paired within rounds: median, range and each round's (structured: `unstructured` is its req/s over unstructured's). */
  paired?: Partial<Record<"simulator" | "plain" | "portkey" | "unstructured", PairedRatio>>;
}

export interface BenchReport {
  started_at: string;
  commit: string;
  machine: ReturnType<typeof machine>;
  generator: "wrk" | "node";
  duration_per_cell_s: number;
  /** Rounds of the sync cells, and runs of the in-flight cell (BENCH_ROUNDS). */
  rounds?: number;
  model: string;
  cells: Cell[];
  batch: (BatchFigures & { warmup_items?: number; cpu_ms_per_item: Record<ProcName, number | null>; ratio_to_plain_drain?: number | null }) | { unavailable: string };
  /** The same workload through one plain BullMQ Worker + openai SDK (baseline/plain-drain.ts). */
  plain_drain?: (PlainDrainFigures & { cpu_ms_per_item: Record<ProcName, number | null> }) | { unavailable: string };
  /** Sync requests held open against a 2 s provider (inflight-bench.ts); absent with BENCH_INFLIGHT_CONNECTIONS=0. */
  in_flight?: (InFlightFigures & { rounds?: InFlightRound[] }) | { unavailable: string };
}

/** One run of the in-flight cell (the report's in_flight figures are the run with the median ratio). */
export interface InFlightRound {
  ratio_to_provider: number | null;
  provider_rps: number;
  llmq_rps: number;
  worker_peak_rss_mb: number | null;
}

function fmt(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(digits);
}

export function tableRows(report: BenchReport): TableRow[] {
  const rows: TableRow[] = report.cells.map((c) => ({
    scenario: c.label,
    conns: String(c.connections),
    "req/s": fmt(c.result.rps, 0),
    "p50 ms": fmt(c.result.p50_ms, 2),
    "p99 ms": fmt(c.result.p99_ms, 2),
    "× simulator": c.target === "simulator" ? "1" : c.paired?.simulator ? formatPaired(c.paired.simulator) : fmt(c.ratio_to_simulator, 2),
    "× plain": c.ratio_to_plain === undefined ? "" : c.paired?.plain ? formatPaired(c.paired.plain) : fmt(c.ratio_to_plain, 2),
    "× Portkey": c.ratio_to_portkey === undefined ? "" : c.paired?.portkey ? formatPaired(c.paired.portkey) : fmt(c.ratio_to_portkey, 2),
    "API cpu ms/req": fmt(c.cpu_ms_per_request.api, 3),
    "worker cpu ms/req": fmt(c.cpu_ms_per_request.worker, 3),
    "sim cpu ms/req": fmt(c.cpu_ms_per_request.simulator, 3),
    "Redis cpu ms/req": fmt(c.cpu_ms_per_request.redis, 3),
    errors: String(c.result.errors),
  }));
  const b = report.batch;
  if ("unavailable" in b) {
    rows.push({ scenario: `batch, ${Number(rawEnv("BENCH_BATCH_ITEMS") ?? 10_000).toLocaleString("en-US")} items: ${b.unavailable}`, conns: "", "req/s": "", "p50 ms": "", "p99 ms": "", "× simulator": "", "× plain": "", "× Portkey": "", "API cpu ms/req": "", "worker cpu ms/req": "", "sim cpu ms/req": "", "Redis cpu ms/req": "", errors: "" });
  } else {
    rows.push({
      scenario: `batch, ${b.items.toLocaleString("en-US")} mixed items: 202 in ${b.accept_ms.toFixed(0)} ms, ${b.drained ? "drained" : "NOT drained"} in ${b.drain_s.toFixed(1)} s (seen ${b.seen_s.toFixed(1)} s after the 202)`,
      conns: "1",
      "req/s": fmt(b.drain_items_per_s, 0),
      "p50 ms": fmt(b.poll_p50_ms, 2),
      "p99 ms": fmt(b.poll_p99_ms, 2),
      "× simulator": "",
      "× plain": b.ratio_to_plain_drain === undefined || b.ratio_to_plain_drain === null ? "" : b.ratio_to_plain_drain.toFixed(2),
      "× Portkey": "",
      "API cpu ms/req": fmt(b.cpu_ms_per_item.api, 3),
      "worker cpu ms/req": fmt(b.cpu_ms_per_item.worker, 3),
      "sim cpu ms/req": fmt(b.cpu_ms_per_item.simulator, 3),
      "Redis cpu ms/req": fmt(b.cpu_ms_per_item.redis, 3),
      errors: String(b.failed),
    });
  }
  const d = report.plain_drain;
  if (d !== undefined) rows.push(plainDrainRow(d));
  if (report.in_flight !== undefined) rows.push(...inFlightRows(report.in_flight));
  return rows;
}

const EMPTY: TableRow = { conns: "", "req/s": "", "p50 ms": "", "p99 ms": "", "× simulator": "", "× plain": "", "× Portkey": "", "API cpu ms/req": "", "worker cpu ms/req": "", "sim cpu ms/req": "", "Redis cpu ms/req": "", errors: "" };

function inFlightRows(f: InFlightFigures | { unavailable: string }): TableRow[] {
  if ("unavailable" in f) return [{ scenario: `in flight, 2 s provider: ${f.unavailable}`, ...EMPTY }];
  const mb = (n: number | null): string => (n === null ? "n/a" : n.toFixed(0));
  const row = (label: string, c: InFlightFigures["llmq"], ratio: string): TableRow => ({
    ...EMPTY,
    scenario: label,
    conns: String(f.connections),
    "req/s": fmt(c.rps, 0),
    "p50 ms": fmt(c.result.p50_ms, 2),
    "p99 ms": fmt(c.result.p99_ms, 2),
    "× simulator": ratio,
    "API cpu ms/req": fmt(c.cpu_ms_per_request.api, 3),
    "worker cpu ms/req": fmt(c.cpu_ms_per_request.worker, 3),
    "sim cpu ms/req": fmt(c.cpu_ms_per_request.simulator, 3),
    "Redis cpu ms/req": fmt(c.cpu_ms_per_request.redis, 3),
    errors: String(c.result.errors),
  });
  const p = f.provider.peak_rss_mb;
  const l = f.llmq.peak_rss_mb;
  const ratio = inFlightRatio(f);
  return [
    row(`in flight, ${f.latency_ms} ms provider: bare simulator (peak RSS ${mb(p.simulator)} MB)`, f.provider, "1"),
    row(`in flight, ${f.latency_ms} ms provider: llmq unstructured (peak RSS API ${mb(l.api)}, worker ${mb(l.worker)}, sim ${mb(l.simulator)} MB)`, f.llmq, ratio === null ? fmt(f.ratio_to_provider, 2) : formatPaired(ratio)),
  ];
}

/** The in-flight runs' ratios as a median and range, when the report has several runs. */
function inFlightRatio(f: InFlightFigures & { rounds?: InFlightRound[] }): PairedRatio | null {
  const rounds = f.rounds?.map((r) => r.ratio_to_provider);
  return rounds === undefined || rounds.length === 0 ? null : summarise(rounds);
}

/**
 * The marks the bench is read against (README, "Speed"), each as the figure the table holds: paired ratios as
 * median (range) across rounds.
 */
export function markLines(report: BenchReport): string[] {
  const cell = (t: TargetId, c: number): Cell | undefined => report.cells.find((x) => x.target === t && x.connections === c);
  const lines: string[] = [];
  for (const c of [1, 50]) {
    const s = cell("structured_new_schema", c);
    if (s?.paired?.unstructured) lines.push(`structured, new schema per request, over unstructured @${c}: ${formatPaired(s.paired.unstructured)}`);
  }
  // Not a mark: where the new-schema gap comes from (the same structured work with names V8 and the caches know).
  for (const c of [1, 50]) {
    const s = cell("structured_same_schema", c);
    if (s?.paired?.unstructured) lines.push(`(for reference) structured, one schema repeated, over unstructured @${c}: ${formatPaired(s.paired.unstructured)}`);
  }
  const u50 = cell("unstructured", 50);
  if (u50) lines.push(`unstructured @50 over the plain build: ${formatPaired(u50.paired?.plain)}; over the Portkey gateway: ${formatPaired(u50.paired?.portkey)}`);
  const u1 = cell("unstructured", 1);
  const p1 = cell("plain_unstructured", 1);
  if (u1 && p1) {
    const mine = (u1.rounds ?? [{ result: u1.result }]).map((r) => r.result.p50_ms);
    const theirs = (p1.rounds ?? [{ result: p1.result }]).map((r) => r.result.p50_ms);
    // Paired like the ratios: in how many rounds llmq's median was no higher than the plain build's in the same round.
    const paired = mine.filter((m, i) => theirs[i] !== undefined && m <= theirs[i]!).length;
    lines.push(`median latency @1: llmq ${fmt(medianOf(mine), 2)} ms, plain build ${fmt(medianOf(theirs), 2)} ms (medians of the rounds' p50; llmq's no higher in ${paired} of ${Math.min(mine.length, theirs.length)} rounds)`);
  }
  const b = report.batch;
  if (!("unavailable" in b)) lines.push(`batch drain over the plain BullMQ + SDK drain: ${fmt(b.ratio_to_plain_drain, 2)}`);
  const f = report.in_flight;
  if (f !== undefined && !("unavailable" in f)) {
    const r = inFlightRatio(f);
    const rss = f.rounds?.map((x) => x.worker_peak_rss_mb).filter((x): x is number => x !== null) ?? [];
    lines.push(`in flight over the provider's own rate: ${r === null ? fmt(f.ratio_to_provider, 2) : formatPaired(r)}; worker peak RSS ${rss.length > 1 ? `${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)}` : fmt(f.llmq.peak_rss_mb.worker, 0)} MB`);
  }
  return lines;
}

function plainDrainRow(d: NonNullable<BenchReport["plain_drain"]>): TableRow {
  const empty = { conns: "", "req/s": "", "p50 ms": "", "p99 ms": "", "× simulator": "", "× plain": "", "× Portkey": "", "API cpu ms/req": "", "worker cpu ms/req": "", "sim cpu ms/req": "", "Redis cpu ms/req": "", errors: "" };
  if ("unavailable" in d) return { scenario: `plain BullMQ Worker + openai SDK drain: ${d.unavailable}`, ...empty };
  return {
    ...empty,
    scenario: `plain BullMQ Worker + openai SDK drain, same ${d.items.toLocaleString("en-US")} items: ${d.drained ? "drained" : "NOT drained"} in ${d.drain_s.toFixed(1)} s`,
    conns: "1",
    "req/s": fmt(d.jobs_per_s, 0),
    "API cpu ms/req": "n/a",
    "worker cpu ms/req": fmt(d.cpu_ms_per_item.worker, 3),
    "sim cpu ms/req": fmt(d.cpu_ms_per_item.simulator, 3),
    "Redis cpu ms/req": fmt(d.cpu_ms_per_item.redis, 3),
    errors: String(d.failed),
  };
}
