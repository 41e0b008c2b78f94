// Writing replies: plain JSON, paced SSE, and the timers behind latency. Invariant: every timer
// goes through a Scheduler, so close() can cancel all of them and no callback outlives the server.
// Zero delays run synchronously (no timer at all): that is the benchmark configuration.
import type { ServerResponse } from "node:http";
import type { Reply } from "./provider-errors.js";
import type { StreamPiece } from "./stream-pieces.js";

export interface Scheduler {
  after(ms: number, fn: () => void): void;
  clearAll(): void;
}

export function createScheduler(): Scheduler {
  const timers = new Set<NodeJS.Timeout>();
  return {
    after(ms, fn) {
      if (ms <= 0) { fn(); return; }
      const timer = setTimeout(() => { timers.delete(timer); fn(); }, ms);
      timers.add(timer);
    },
    clearAll() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

const JSON_TYPE = "application/json";
const SSE_TYPE = "text/event-stream; charset=utf-8";
/** Streams are paced in ticks of at least this many ms, so a fast tokens/s does not mean a timer per token. */
const MIN_TICK_MS = 10;

function gone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  if (gone(res)) return;
  res.writeHead(status, { ...headers, "content-type": JSON_TYPE, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendReply(res: ServerResponse, reply: Reply, headers?: Record<string, string>): void {
  sendJson(res, reply.status, reply.body, headers ? { ...headers, ...reply.headers } : reply.headers);
}

export interface StreamTiming {
  /** Delay before the headers and first event. */
  latencyMs: number;
  /** Output speed; null sends the whole stream at once after the latency. */
  tokensPerS: number | null;
}

/**
 * Sends SSE events. With a token rate, event i goes out when the tokens before it would have been
 * generated; events due in the same tick are written together.
 */
export function sendStream(
  res: ServerResponse, pieces: readonly StreamPiece[], timing: StreamTiming, scheduler: Scheduler, headers: Record<string, string>,
): void {
  scheduler.after(timing.latencyMs, () => {
    if (gone(res)) return;
    res.writeHead(200, { ...headers, "content-type": SSE_TYPE, "cache-control": "no-cache" });
    const rate = timing.tokensPerS;
    if (rate === null || rate <= 0) {
      res.end(pieces.map((p) => p.data).join(""));
      return;
    }
    const start = performance.now();
    const due: number[] = [];
    let tokens = 0;
    for (const p of pieces) {
      tokens += p.tokens;
      due.push((tokens / rate) * 1000);
    }
    let next = 0;
    const tick = (): void => {
      if (gone(res)) return;
      const elapsed = performance.now() - start;
      let batch = "";
      while (next < pieces.length && (due[next] ?? 0) <= elapsed) batch += pieces[next++]?.data ?? "";
      if (next >= pieces.length) { res.end(batch); return; }
      if (batch) res.write(batch);
      scheduler.after(Math.max(MIN_TICK_MS, (due[next] ?? 0) - elapsed), tick);
    };
    tick();
  });
}
