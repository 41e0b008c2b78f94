import { existsSync, rmSync } from "node:fs";
import type { BatchItem, BatchView } from "../api-types.js";
import type { Ctx } from "../context.js";
import { note } from "../context.js";
import { ApiError, EXIT, UsageError } from "../errors.js";
import { readBatchFile } from "../input.js";
import { finishFollowing } from "./batch-follow.js";

/**
 * `llmq batch submit`: read, split, submit, print the ids, and with --wait follow them as one batch.
 * Splitting adapts to what llmq answers: BATCH_TOO_LARGE names its item limit, PAYLOAD_TOO_LARGE its byte
 * limit, RATE_LIMITED when to come back; each is taken into account and the same items sent again. A refusal
 * after some batches were stored names them: they are not withdrawn.
 */
export interface SubmitOptions {
  file: string;
  wait: boolean;
  out: string | undefined;
  maxItems: number;
  maxBytes: number;
  intervalMs: number;
}

export async function submitCommand(ctx: Ctx, opts: SubmitOptions): Promise<number> {
  if (opts.out !== undefined && !opts.wait) throw new UsageError("--out needs --wait (or download later: llmq batch results ID --out FILE)");
  const chatType = await acceptsChatItems(ctx);
  const file = readBatchFile(opts.file, { chatType });
  for (const n of file.notes) note(ctx, `note: ${n}`);
  if (file.format === "openai") note(ctx, chatType ? "OpenAI lines sent as chat items" : "OpenAI lines converted to conversation/structured items (this llmq takes no chat items)");
  const ids = await submitAll(ctx, file.items, file.metadata, opts);
  if (ctx.json) await ctx.out(`${JSON.stringify({ batch_ids: ids })}\n`);
  if (!opts.wait) {
    if (!ctx.json) note(ctx, `submitted ${file.items.length} items as ${ids.length} batch(es); follow with: llmq batch status ${ids.join(" ")}`);
    return EXIT.ok;
  }
  if (opts.out !== undefined && existsSync(opts.out)) rmSync(opts.out);
  return finishFollowing(ctx, ids, { intervalMs: opts.intervalMs, out: opts.out });
}

async function submitAll(ctx: Ctx, items: readonly BatchItem[], metadata: Record<string, string> | undefined, opts: SubmitOptions): Promise<string[]> {
  const ids: string[] = [];
  let maxItems = opts.maxItems;
  let maxBytes = opts.maxBytes;
  for (let from = 0; from < items.length; ) {
    const chunk = takeChunk(items, from, maxItems, maxBytes);
    try {
      const view = await ctx.api.json<BatchView>("POST", "/api/v1/batches", { requests: chunk, ...(metadata !== undefined && { metadata }) });
      ids.push(view.id);
      if (!ctx.json) await ctx.out(`${view.id}\n`);
      from += chunk.length;
    } catch (err) {
      const next = await adapt(ctx, err, chunk, maxItems, maxBytes);
      if (next === undefined) throw withContext(err, from, ids);
      [maxItems, maxBytes] = next;
    }
  }
  return ids;
}

/** The limits to try again with after a refusal llmq explains, or undefined when it cannot be helped. */
async function adapt(ctx: Ctx, err: unknown, chunk: readonly BatchItem[], maxItems: number, maxBytes: number): Promise<[number, number] | undefined> {
  if (!(err instanceof ApiError)) return undefined;
  const d = err.details;
  if (err.code === "BATCH_TOO_LARGE" && typeof d.max_items === "number" && d.max_items >= 1 && d.max_items < chunk.length) {
    note(ctx, `llmq takes at most ${d.max_items} items per batch: splitting by ${d.max_items}`);
    return [d.max_items, maxBytes];
  }
  if (err.code === "PAYLOAD_TOO_LARGE" && chunk.length > 1) {
    const limit = typeof d.limit_bytes === "number" ? Math.floor(d.limit_bytes * 0.9) : Math.floor(bytesOf(chunk) / 2);
    note(ctx, `llmq's batch body limit is lower: splitting by ${limit} bytes`);
    return [maxItems, Math.min(limit, Math.floor(bytesOf(chunk) / 2))];
  }
  if (err.code === "RATE_LIMITED") {
    const waitS = typeof d.retry_after_s === "number" ? d.retry_after_s : Number(err.headers?.get("retry-after") ?? 5);
    note(ctx, `the key's rate limit is reached: waiting ${waitS}s to submit the next ${chunk.length} items`);
    await new Promise((r) => setTimeout(r, Math.max(1, waitS) * 1000));
    return [maxItems, maxBytes];
  }
  return undefined;
}

/** As many items from `from` as fit both limits; always at least one. */
export function takeChunk(items: readonly BatchItem[], from: number, maxItems: number, maxBytes: number): BatchItem[] {
  let bytes = 20;
  let end = from;
  while (end < items.length && end - from < maxItems) {
    const size = Buffer.byteLength(JSON.stringify(items[end])) + 1;
    if (end > from && bytes + size > maxBytes) break;
    bytes += size;
    end++;
  }
  return items.slice(from, end);
}

function bytesOf(items: readonly BatchItem[]): number {
  return Buffer.byteLength(JSON.stringify(items));
}

/** An item's refusal names its place in the file, and the batches already stored. */
function withContext(err: unknown, from: number, ids: readonly string[]): unknown {
  if (!(err instanceof ApiError)) return err;
  const index = typeof err.details.index === "number" ? ` (item ${from + err.details.index + 1} of the file)` : "";
  const stored = ids.length > 0 ? `; already stored and running: ${ids.join(" ")}` : "";
  return new ApiError(err.status, err.code, `${err.message.slice(err.code.length + 2)}${index}${stored}`, err.details, err.headers);
}

/** Whether llmq's batch items take type "chat" (its OpenAPI document lists it), so OpenAI lines go unconverted. */
async function acceptsChatItems(ctx: Ctx): Promise<boolean> {
  try {
    const doc = await ctx.api.json<{ paths?: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: unknown }> } } }> }>("GET", "/api/v1/openapi.json");
    const schema = doc.paths?.["/api/v1/batches"]?.post?.requestBody?.content?.["application/json"]?.schema;
    const types = (schema as { properties?: { requests?: { items?: { properties?: { type?: { enum?: unknown[] } } } } } } | undefined)?.properties?.requests?.items?.properties?.type?.enum;
    return Array.isArray(types) && types.includes("chat");
  } catch (err) {
    // An llmq without the document (or one that will not show it) takes no chat items; no answer at all is an error.
    if (err instanceof ApiError && err.status !== 401) return false;
    throw err;
  }
}
