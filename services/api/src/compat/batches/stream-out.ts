import { once } from "node:events";
import type { Response } from "express";

/** Writes the chunks as they come, waiting for the socket to drain: a large file never sits in memory whole. */
export async function streamOut(res: Response, chunks: AsyncIterable<Buffer | string>): Promise<void> {
  for await (const chunk of chunks) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

/** Resolves on 'drain', or on 'close' when the client went away. */
async function drained(res: Response): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(res, "drain", { signal: ac.signal }), once(res, "close", { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}

/** `?limit=` as an integer in [1, max], `fallback` when absent. */
export function limitParam(raw: unknown, fallback: number, max: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = typeof raw === "string" && /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  return n >= 1 && n <= max ? n : undefined;
}
