import { Agent, request } from "node:http";
import { percentile, type LoadResult } from "./load-result.js";

export interface LoopRequest {
  path: string;
  body: string;
}

export interface ClosedLoopRun {
  /** http://host:port, no path. */
  origin: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** Called once per request: lets every request differ (a new schema each time). */
  next: () => LoopRequest;
  /** Also report the answers per second from this many seconds in (steady_rps). */
  steadyAfterS?: number;
}

/**
 * The fallback generator when wrk is not installed: `connections` keep-alive connections, each sending its next
 * request as soon as the previous answer has been read (closed loop, like wrk). It runs inside the bench's own
 * Node process, so on a small machine it takes CPU from the processes it measures: prefer wrk.
 */
export async function runClosedLoop(run: ClosedLoopRun): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: run.connections });
  const url = new URL(run.origin);
  const latencies: number[] = [];
  /** When each answer ended (ms since the start), for steady_rps. */
  const endedAt: number[] = [];
  const statuses: Record<string, number> = {};
  let socketErrors = 0;
  const started = performance.now();
  const deadline = started + run.durationS * 1000;

  const once = (req: LoopRequest): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const r = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: "POST",
          path: req.path,
          headers: { ...run.headers, "content-type": "application/json", "content-length": Buffer.byteLength(req.body) },
        },
        (res) => {
          res.resume();
          res.once("end", () => {
            const now = performance.now();
            latencies.push(now - t0);
            if (run.steadyAfterS !== undefined) endedAt.push(now - started);
            const key = String(res.statusCode ?? 0);
            statuses[key] = (statuses[key] ?? 0) + 1;
            resolve();
          });
          res.once("error", () => {
            socketErrors++;
            resolve();
          });
        },
      );
      r.once("error", () => {
        socketErrors++;
        resolve();
      });
      r.end(req.body);
    });

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) await once(run.next());
  };
  await Promise.all(Array.from({ length: run.connections }, loop));
  const durationS = (performance.now() - started) / 1000;
  agent.destroy();

  const sorted = Float64Array.from(latencies).sort();
  const non2xx = Object.entries(statuses).reduce((n, [s, c]) => (Number(s) >= 200 && Number(s) < 300 ? n : n + c), 0);
  const sum = latencies.reduce((a, b) => a + b, 0);
  return {
    requests: latencies.length,
    duration_s: durationS,
    rps: latencies.length / durationS,
    avg_ms: latencies.length > 0 ? sum / latencies.length : 0,
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : 0,
    non2xx,
    socket_errors: socketErrors,
    errors: non2xx + socketErrors,
    statuses,
    ...(run.steadyAfterS !== undefined && steadyRate(endedAt, run.steadyAfterS * 1000, durationS * 1000)),
  };
}

function steadyRate(endedAtMs: readonly number[], fromMs: number, toMs: number): Pick<LoadResult, "steady_rps" | "steady_s"> {
  const spanS = (toMs - fromMs) / 1000;
  if (spanS <= 0) return { steady_rps: 0, steady_s: 0 };
  const n = endedAtMs.filter((t) => t >= fromMs).length;
  return { steady_rps: n / spanS, steady_s: Math.round(spanS) };
}
