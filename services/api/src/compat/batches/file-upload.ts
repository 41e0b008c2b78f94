import type { Readable } from "node:stream";
import type { Request } from "express";
import busboy from "busboy";
import { AppError } from "@llmq/shared";

/**
 * Reads a POST /v1/files body: multipart/form-data with a `purpose` field and one `file` part, as OpenAI's
 * clients send it. The file part is streamed (busboy) into `sink` in chunks of about a megabyte, never held
 * whole; its size is capped at FILE_MAX_BYTES (413 above it, checked on Content-Length first when the client
 * sends one). Only `purpose=batch` is accepted: the files exist to feed /v1/batches.
 */
export interface Upload {
  purpose: string;
  filename: string;
  bytes: number;
}

const SINK_CHUNK = 1024 * 1024;
/** Room for the multipart boundaries and the small fields around the file. */
const ENVELOPE_BYTES = 64 * 1024;

export async function readUpload(req: Request, maxBytes: number, sink: (chunk: Buffer) => Promise<void>): Promise<Upload> {
  const type = req.headers["content-type"] ?? "";
  if (!/^multipart\/form-data/i.test(type)) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send the file as multipart/form-data with the fields purpose=batch and file");
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes + ENVELOPE_BYTES) throw tooLarge(maxBytes);
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, defParamCharset: "utf8", limits: { files: 1, fileSize: maxBytes, fields: 8, fieldSize: 4096, parts: 16 } });
  } catch (err) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", `the multipart body cannot be read: ${(err as Error).message.slice(0, 200)}`);
  }

  const fields: Record<string, string> = {};
  let file: Promise<Received> | undefined;
  let filename = "";
  parser.on("field", (name, value) => {
    fields[name] = value;
  });
  parser.on("file", (name, stream, info) => {
    if (name !== "file" || file !== undefined || (fields.purpose !== undefined && fields.purpose !== "batch")) {
      stream.resume();
      return;
    }
    filename = info.filename ?? "";
    file = receive(stream, sink);
  });
  await new Promise<void>((resolve, reject) => {
    parser.once("close", resolve);
    parser.once("error", (err: Error) => reject(new AppError("INVALID_REQUEST", `the multipart body is malformed: ${err.message.slice(0, 200)}`, { details: { errors: [{ path: "", message: "is malformed multipart" }] } })));
    req.once("error", reject);
    req.pipe(parser);
  });
  const got = file === undefined ? undefined : await file;
  if (got?.error !== undefined) throw got.error;

  const purpose = fields.purpose;
  if (purpose === undefined) throw fieldError("purpose", "is required (purpose=batch)");
  if (purpose !== "batch") throw fieldError("purpose", `must be "batch": llmq keeps files only as input of /v1/batches (got "${purpose.slice(0, 40)}")`);
  if (got === undefined) throw fieldError("file", "is required: one part named file");
  if (got.truncated) throw tooLarge(maxBytes);
  if (got.bytes === 0) throw fieldError("file", "is empty: a batch file holds one JSON request per line");
  return { purpose, filename: filename.slice(0, 255) || "upload.jsonl", bytes: got.bytes };
}

interface Received {
  bytes: number;
  truncated: boolean;
  error?: unknown;
}

/**
 * Streams the part into the sink, pausing the part while a chunk is written. Never rejects, and never destroys
 * the part: busboy waits on a destroyed part forever, so after a failed write (Redis down) or past the size limit
 * the rest is read and dropped, the parser finishes, and the error is answered at once.
 */
function receive(stream: Readable & { truncated?: boolean }, sink: (chunk: Buffer) => Promise<void>): Promise<Received> {
  return new Promise((resolve) => {
    let pending: Buffer[] = [];
    let size = 0;
    let bytes = 0;
    let truncated = false;
    let error: unknown;
    let writing: Promise<void> = Promise.resolve();
    const write = (chunk: Buffer): Promise<void> =>
      sink(chunk).catch((err: unknown) => {
        error ??= err;
      });
    stream.once("limit", () => (truncated = true));
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (truncated || error !== undefined) return;
      pending.push(chunk);
      size += chunk.length;
      if (size < SINK_CHUNK) return;
      const whole = Buffer.concat(pending, size);
      pending = [];
      size = 0;
      stream.pause();
      writing = write(whole).then(() => void stream.resume());
    });
    stream.once("end", () => {
      void writing
        .then(() => (size > 0 && !truncated && error === undefined ? write(Buffer.concat(pending, size)) : undefined))
        .then(() => resolve({ bytes, truncated: truncated || stream.truncated === true, ...(error !== undefined && { error }) }));
    });
  });
}

function fieldError(field: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${field} ${message}`, { details: { errors: [{ path: `/${field}`, message }] } });
}

function tooLarge(limit: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `the file is larger than ${limit} bytes (FILE_MAX_BYTES)`, { details: { limit_bytes: limit } });
}
