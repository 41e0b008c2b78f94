import { describe, expect, it } from "vitest";
import { markLines, tableRows, type BenchReport, type Cell, type RoundFigures, type TargetId } from "../src/bench-report.js";
import type { LoadResult } from "../src/load-result.js";
import { formatPaired, medianIndex, medianOf, pairedRatio } from "../src/rounds.js";

describe("rounds: medians and paired ratios", () => {
  it("takes the middle value, the lower middle for an even count, and ignores non-finite values", () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2);
    expect(medianOf([5, Number.NaN, 1])).toBe(1);
    expect(medianOf([])).toBeNull();
    expect(medianIndex([900, 1200, 1000])).toBe(2);
  });

  it("pairs a and b within each round, and leaves out a round that misses a side", () => {
    const r = pairedRatio([300, 200, 500, 100], [100, 100, undefined, 0]);
    expect(r.rounds).toEqual([3, 2, null, null]);
    expect(r.median).toBe(2);
    expect(r.min).toBe(2);
    expect(r.max).toBe(3);
    expect(formatPaired(r)).toBe("2.00 (2.00–3.00)");
    expect(formatPaired(pairedRatio([150], [100]))).toBe("1.50");
    expect(formatPaired(pairedRatio([150], [0]))).toBe("n/a");
  });

  it("is the median of the ratios, not the ratio of the medians", () => {
    // Round 2's peer ran on a quiet machine, round 3's on a loaded one: pairing keeps each round's conditions together.
    const r = pairedRatio([1000, 1500, 600], [800, 1000, 300]);
    expect(r.median).toBeCloseTo(1.5);
    expect((medianOf([1000, 1500, 600]) ?? 0) / (medianOf([800, 1000, 300]) ?? 1)).toBeCloseTo(1.25);
  });
});

function load(rps: number, p50 = 1): LoadResult {
  return { requests: rps * 10, duration_s: 10, rps, avg_ms: p50, p50_ms: p50, p95_ms: p50, p99_ms: p50, max_ms: p50, non2xx: 0, socket_errors: 0, errors: 0, statuses: { "200": rps * 10 } };
}

function cell(target: TargetId, connections: number, rpsByRound: number[], paired: Cell["paired"] = {}): Cell {
  const cpu = { api: 0.1, worker: 0.2, simulator: 0.05, redis: 0.01 };
  const rounds: RoundFigures[] = rpsByRound.map((rps, i) => ({ round: i + 1, result: load(rps, 1000 / rps), cpu_ms_per_request: cpu, rss_mb_after: { api: 1, worker: 1, simulator: 1, redis: 1 } }));
  const mid = rounds[medianIndex(rpsByRound)]!;
  return { target, label: target, connections, result: mid.result, ratio_to_simulator: paired.simulator?.median ?? null, cpu_ms_per_request: cpu, rss_mb_after: mid.rss_mb_after, rounds, paired };
}

describe("bench report with rounds", () => {
  const sim = [5000, 5000, 5000];
  const unstructured = [2000, 1800, 2100];
  const structured = [1900, 1500, 1700];
  const plain = [1000, 900, 1000];
  const portkey = [1300, 1500, 1200];
  const u50: Cell = {
    ...cell("unstructured", 50, unstructured, { simulator: pairedRatio(unstructured, sim), plain: pairedRatio(unstructured, plain), portkey: pairedRatio(unstructured, portkey) }),
    ratio_to_plain: pairedRatio(unstructured, plain).median,
    ratio_to_portkey: pairedRatio(unstructured, portkey).median,
  };
  const report: BenchReport = {
    started_at: "2026-12-01T00:00:00.000Z",
    commit: "test",
    machine: { cpu: "cpu", cores: 2, os: "linux", node: "v24", load_avg: [0, 0, 0] } as BenchReport["machine"],
    generator: "wrk",
    duration_per_cell_s: 10,
    rounds: 3,
    model: "gpt-4o-mini",
    cells: [cell("simulator", 50, sim), u50, cell("structured_new_schema", 50, structured, { simulator: pairedRatio(structured, sim), unstructured: pairedRatio(structured, unstructured) }), cell("plain_unstructured", 50, plain), cell("portkey_unstructured", 50, portkey)],
    batch: { unavailable: "n/a" },
  };

  it("shows each paired ratio as median (range) and the cell's figures from its median round", () => {
    const rows = tableRows(report);
    const u = rows.find((r) => r.scenario === "unstructured")!;
    expect(u["req/s"]).toBe("2000");
    expect(u["× plain"]).toBe("2.00 (2.00–2.10)");
    expect(u["× Portkey"]).toBe("1.54 (1.20–1.75)");
    expect(rows.find((r) => r.scenario === "structured_new_schema")!["req/s"]).toBe("1700");
  });

  it("prints the marks from the paired ratios", () => {
    // At 1 connection: llmq's p50 under the plain build's in rounds 1 and 3, over it in round 2.
    const at1 = { ...report, cells: [...report.cells, cell("unstructured", 1, [500, 300, 450]), cell("plain_unstructured", 1, [400, 400, 400])] };
    expect(markLines(at1)).toContain("median latency @1: llmq 2.22 ms, plain build 2.50 ms (medians of the rounds' p50; llmq's no higher in 2 of 3 rounds)");
    const lines = markLines(report);
    expect(lines).toContain("structured, new schema per request, over unstructured @50: 0.83 (0.81–0.95)");
    expect(lines).toContain("unstructured @50 over the plain build: 2.00 (2.00–2.10); over the Portkey gateway: 1.54 (1.20–1.75)");
    expect(lines.some((l) => l.includes("one schema repeated"))).toBe(false);
  });

  it("adds the repeated schema's ratio as a reference line after the mark it explains, when the report has it", () => {
    const same = [1900, 1800, 2000];
    const withSame = { ...report, cells: [...report.cells, cell("structured_same_schema", 50, same, { unstructured: pairedRatio(same, [2000, 1900, 2100]) })] };
    const lines = markLines(withSame);
    const mark = lines.indexOf("structured, new schema per request, over unstructured @50: 0.83 (0.81–0.95)");
    expect(mark).toBeGreaterThanOrEqual(0);
    expect(lines[mark + 1]).toBe("(for reference) structured, one schema repeated, over unstructured @50: 0.95 (0.95–0.95)");
  });
});
