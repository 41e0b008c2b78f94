import { createWriteStream, existsSync, readFileSync, renameSync, truncateSync, writeFileSync, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { Api } from "./http.js";
import { UsageError } from "./errors.js";

/**
 * Downloads batches' result lines (GET /api/v1/batches/{id}/results, NDJSON) into a file, resumably.
 *
 * Invariant: when a download ends, the file holds each custom_id of the batches exactly once, with the outcome
 * llmq holds for it now, however many earlier downloads were cut short. How: a download killed mid-write can
 * leave a partial last line, which is cut off first; the lines already there are indexed by custom_id; the
 * stream is read from the start and a line is appended only when its custom_id is missing or its status changed
 * (a retry turned a failed item into a completed one); in that last case the file is rewritten at the end keeping
 * each custom_id's last line. Lines are appended as they arrive, so a cut download keeps what it got.
 */
export interface DownloadReport {
  /** Lines in the file at the end. */
  lines: number;
  appended: number;
  /** Lines already in the file and skipped. */
  kept: number;
  /** A partial last line of an earlier, cut download that was removed. */
  truncatedPartial: boolean;
  byStatus: Record<string, number>;
}

export async function downloadResults(api: Api, ids: readonly string[], path: string): Promise<DownloadReport> {
  const { known, truncatedPartial } = indexExisting(path);
  const out = createWriteStream(path, { flags: "a" });
  let appended = 0;
  let kept = 0;
  let replaced = false;
  try {
    for (const id of ids) {
      for await (const line of resultLines(api, id)) {
        const { customId, status } = parseLine(line, `the results of ${id}`);
        const had = known.get(customId);
        if (had === status) {
          kept++;
          continue;
        }
        if (had !== undefined) replaced = true;
        known.set(customId, status);
        if (!out.write(`${line}\n`)) await once(out, "drain");
        appended++;
      }
    }
  } finally {
    await closeStream(out);
  }
  if (replaced) compact(path);
  const byStatus: Record<string, number> = {};
  for (const status of known.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;
  return { lines: known.size, appended, kept, truncatedPartial, byStatus };
}

/** Streams the result lines to stdout (no file: nothing to resume). Returns the count per status. */
export async function printResults(api: Api, ids: readonly string[], write: (text: string) => Promise<void>): Promise<Record<string, number>> {
  const byStatus: Record<string, number> = {};
  for (const id of ids) {
    for await (const line of resultLines(api, id)) {
      const { status } = parseLine(line, `the results of ${id}`);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      await write(`${line}\n`);
    }
  }
  return byStatus;
}

/** The lines of one batch's results, as they arrive. */
export async function* resultLines(api: Api, id: string): AsyncGenerator<string> {
  const res = await api.stream(`/api/v1/batches/${encodeURIComponent(id)}/results`);
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let carry = "";
  for await (const chunk of res.body) {
    carry += decoder.decode(chunk as Uint8Array, { stream: true });
    const parts = carry.split("\n");
    carry = parts.pop() ?? "";
    for (const p of parts) if (p !== "") yield p;
  }
  carry += decoder.decode();
  if (carry !== "") yield carry;
}

/** Cuts a partial last line, then maps custom_id -> status of every line the file holds. */
function indexExisting(path: string): { known: Map<string, string>; truncatedPartial: boolean } {
  const known = new Map<string, string>();
  if (!existsSync(path)) return { known, truncatedPartial: false };
  const text = readFileSync(path, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  const truncatedPartial = end < text.length;
  if (truncatedPartial) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  text
    .slice(0, end)
    .split("\n")
    .forEach((line, i) => {
      if (line === "") return;
      const { customId, status } = parseLine(line, `${path}:${i + 1}`);
      known.set(customId, status);
    });
  return { known, truncatedPartial };
}

/** Keeps each custom_id's last line, in place (a temporary file renamed over it). */
function compact(path: string): void {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
  const last = new Map<string, number>();
  lines.forEach((l, i) => last.set(parseLine(l, path).customId, i));
  const keptLines = lines.filter((l, i) => last.get(parseLine(l, path).customId) === i);
  writeFileSync(`${path}.tmp`, keptLines.map((l) => `${l}\n`).join(""));
  renameSync(`${path}.tmp`, path);
}

function parseLine(line: string, where: string): { customId: string; status: string } {
  try {
    const v = JSON.parse(line) as { custom_id?: unknown; status?: unknown };
    if (typeof v.custom_id === "string" && typeof v.status === "string") return { customId: v.custom_id, status: v.status };
  } catch {
    // reported below
  }
  throw new UsageError(`${where}: not a batch result line ({status, custom_id, …}): ${line.slice(0, 80)}`);
}

async function closeStream(out: WriteStream): Promise<void> {
  await new Promise<void>((resolve) => out.end(() => resolve()));
}
