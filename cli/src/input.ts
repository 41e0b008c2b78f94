import { readFileSync, statSync } from "node:fs";
import type { BatchItem } from "./api-types.js";
import { UsageError } from "./errors.js";
import { fromOpenAiLine } from "./openai-lines.js";

/**
 * Reads a batch file into llmq batch items. Three formats, told apart by content:
 * - llmq JSON: one object `{requests: [...], metadata?}`;
 * - llmq NDJSON: one `{custom_id, type, body}` per line;
 * - OpenAI batch JSONL: one `{custom_id, method, url, body}` per line, each body a Chat Completions request,
 *   converted item by item (openai-lines.ts).
 * Every custom_id must be unique in the whole file: a file split into several batches is still one set of items.
 */
export interface BatchFile {
  format: "json" | "ndjson" | "openai";
  items: BatchItem[];
  metadata?: Record<string, string>;
  /** Things worth telling the user (fields dropped in conversion), one line each. */
  notes: string[];
}

export function readBatchFile(path: string, opts: { chatType?: boolean } = {}): BatchFile {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new UsageError(`${path} is not a file`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const file = parseBatchText(text, path, opts);
  const seen = new Map<string, number>();
  file.items.forEach((item, i) => {
    const first = seen.get(item.custom_id);
    if (first !== undefined) throw new UsageError(`${path}: item ${i + 1} repeats custom_id "${item.custom_id.slice(0, 100)}" of item ${first + 1}`);
    seen.set(item.custom_id, i);
  });
  if (file.items.length === 0) throw new UsageError(`${path} holds no items`);
  return file;
}

export function parseBatchText(text: string, path: string, opts: { chatType?: boolean } = {}): BatchFile {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    // One JSON document with `requests` is llmq JSON; anything else starting with `{` is one object per line.
    try {
      const whole = JSON.parse(text) as unknown;
      if (typeof whole === "object" && whole !== null && Array.isArray((whole as { requests?: unknown }).requests)) {
        const { requests, metadata } = whole as { requests: unknown[]; metadata?: Record<string, string> };
        return { format: "json", items: requests.map((r, i) => asItem(r, i + 1, path)), ...(metadata !== undefined && { metadata }), notes: [] };
      }
    } catch {
      // several lines: not one document
    }
  }
  const lines = text.split(/\r?\n/);
  const items: BatchItem[] = [];
  const dropped = new Map<string, number>();
  let format: BatchFile["format"] | undefined;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UsageError(`${path}:${i + 1}: not JSON (${(err as Error).message.slice(0, 120)})`);
    }
    const lineFormat = isOpenAiLine(value) ? "openai" : "ndjson";
    if (format !== undefined && lineFormat !== format) throw new UsageError(`${path}:${i + 1}: mixes OpenAI batch lines and llmq items`);
    format = lineFormat;
    if (lineFormat === "ndjson") items.push(asItem(value, i + 1, path));
    else {
      const converted = fromOpenAiLine(value as Record<string, unknown>, `${path}:${i + 1}`, opts.chatType === true);
      items.push(converted.item);
      for (const f of converted.dropped) dropped.set(f, (dropped.get(f) ?? 0) + 1);
    }
  });
  const notes = [...dropped].map(([field, n]) => `${n} line(s): "${field}" has no llmq equivalent and was not sent`);
  return { format: format ?? "ndjson", items, notes };
}

function isOpenAiLine(v: unknown): boolean {
  return typeof v === "object" && v !== null && "url" in v && "body" in v && !("type" in v);
}

function asItem(v: unknown, line: number, path: string): BatchItem {
  const o = v as Partial<BatchItem> | null;
  if (typeof o !== "object" || o === null || typeof o.custom_id !== "string" || typeof o.type !== "string" || typeof o.body !== "object" || o.body === null) {
    throw new UsageError(`${path}: item ${line} is not {custom_id, type, body} (nor an OpenAI batch line {custom_id, method, url, body})`);
  }
  return { custom_id: o.custom_id, type: o.type, body: o.body };
}
