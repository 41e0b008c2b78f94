import type { Request } from "express";
import { AppError } from "@llmq/shared";
import { invalidBody } from "../http/body.js";

/**
 * Reads the body of POST /api/v1/batches, with the batch route's own limit (BATCH_BODY_LIMIT; every other
 * route keeps BODY_LIMIT): JSON `{requests, metadata?}`, or NDJSON with one item per line. NDJSON is parsed line
 * by line as it arrives, so a bad line or one item too many is refused without reading the rest.
 */
export interface BatchBody {
  format: "json" | "ndjson";
  /** The raw items, unchecked. */
  items: unknown[];
  /** JSON only: the whole body minus `requests` (its other fields are checked by the service). */
  rest?: Record<string, unknown>;
}

export interface BodyLimits {
  maxBytes: number;
  maxItems: number;
}

const NDJSON_TYPES = new Set(["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"]);

function batchBodyFormat(req: Request): "json" | "ndjson" {
  const raw = req.headers["content-type"];
  if (raw === undefined) throw new AppError("INVALID_REQUEST", "a body is required: JSON {requests: [...]} or NDJSON (Content-Type: application/x-ndjson)", { details: { errors: [{ path: "", message: "is required" }] } });
  const type = raw.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (NDJSON_TYPES.has(type)) return "ndjson";
  throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send the batch as application/json or application/x-ndjson");
}

export async function readBatchBody(req: Request, limits: BodyLimits): Promise<BatchBody> {
  const format = batchBodyFormat(req);
  // A body parser mounted before this route would have drained the stream already.
  if (req.readableEnded) throw new AppError("INTERNAL", "the batch body was consumed before the batch route read it");
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") throw new AppError("UNSUPPORTED_MEDIA_TYPE", `Content-Encoding ${encoding.slice(0, 40)} is not supported`);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  return format === "json" ? readJson(req, limits) : readNdjson(req, limits);
}

async function readJson(req: Request, limits: BodyLimits): Promise<BatchBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunksOf(req)) {
    size += chunk.length;
    if (size > limits.maxBytes) throw tooLarge(limits.maxBytes);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
  } catch (err) {
    throw new AppError("INVALID_JSON", "the body is not valid JSON", { details: { reason: (err as Error).message.slice(0, 200) } });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidBody([{ path: "", message: "must be object {requests: [...], metadata?}" }]);
  const { requests, ...rest } = body as Record<string, unknown>;
  if (requests === undefined) throw invalidBody([{ path: "/requests", message: "is required" }]);
  if (!Array.isArray(requests)) throw invalidBody([{ path: "/requests", message: "must be array" }]);
  if (requests.length > limits.maxItems) throw tooMany(requests.length, limits.maxItems);
  return { format: "json", items: requests, rest };
}

async function readNdjson(req: Request, limits: BodyLimits): Promise<BatchBody> {
  const items: unknown[] = [];
  let size = 0;
  let line = 0;
  let carry = "";
  const decoder = new TextDecoder("utf-8");
  const take = (text: string): void => {
    line++;
    if (text.trim() === "") return;
    if (items.length >= limits.maxItems) throw tooMany(items.length + 1, limits.maxItems);
    try {
      items.push(JSON.parse(text));
    } catch (err) {
      throw new AppError("INVALID_JSON", `line ${line} is not valid JSON`, { details: { line, index: items.length, reason: (err as Error).message.slice(0, 200) } });
    }
  };
  for await (const chunk of chunksOf(req)) {
    size += chunk.length;
    if (size > limits.maxBytes) throw tooLarge(limits.maxBytes);
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const l of lines) take(l);
  }
  carry += decoder.decode();
  if (carry !== "") take(carry);
  if (items.length === 0) throw new AppError("INVALID_REQUEST", "the batch has no items: send one {custom_id, type, body} per line", { details: { errors: [{ path: "", message: "has no items" }] } });
  return { format: "ndjson", items };
}

/** The body's chunks; leaving the loop early (a refused item) must not destroy the socket the answer goes out on. */
function chunksOf(req: Request): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer> };
}

function tooLarge(limit: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `the batch body is larger than ${limit} bytes (BATCH_BODY_LIMIT)`, { details: { limit_bytes: limit } });
}

function tooMany(count: number, max: number): AppError {
  return new AppError("BATCH_TOO_LARGE", `a batch holds at most ${max} items (BATCH_MAX_ITEMS); this one has ${count}${count === max + 1 ? " or more" : ""}`, { details: { max_items: max, items: count } });
}
