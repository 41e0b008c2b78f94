import { randomUUID } from "node:crypto";
import type { Request, RequestHandler, Response, Router } from "express";
import { AppError, isFinalBatchStatus, type Config } from "@llmq/shared";
import { jsonBody } from "../../http/body.js";
import { openaiBatch, uploadedFileObject } from "./batch-render.js";
import { OPENAI_BATCH_ENDPOINT, type CompatBatchService } from "./compat-batch-service.js";
import { readUpload } from "./file-upload.js";
import { limitParam, streamOut } from "./stream-out.js";

/**
 * OpenAI's Files and Batch API routes: /v1/files (purpose `batch` only) and /v1/batches (endpoint
 * /v1/chat/completions only, completion window 24h). Parse the HTTP bits, ask the service, answer in
 * OpenAI's shapes; errors leave through compat-errors.ts in OpenAI's error shape.
 */
const BATCH_FIELDS = new Set(["input_file_id", "endpoint", "completion_window", "metadata"]);

export function mountOpenAIBatchRoutes(router: Router, service: CompatBatchService, config: Config, json: RequestHandler): void {
  router.post("/v1/files", async (req: Request, res: Response) => {
    const id = `file-${randomUUID().replaceAll("-", "")}`;
    const createdAt = Date.now();
    try {
      const upload = await readUpload(req, config.files.maxBytes, (chunk) => service.files.append(id, chunk));
      const meta = { id, owner: res.locals.owner, bytes: upload.bytes, created_at: createdAt, filename: upload.filename, purpose: upload.purpose };
      await service.files.commit(meta);
      res.json(uploadedFileObject(meta, config.files.ttlS));
    } catch (err) {
      await service.files.discard(id).catch(() => undefined);
      throw err;
    }
  });

  router.get("/v1/files", async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const limit = limitParam(q.limit, 10_000, 10_000);
    if (limit === undefined) throw queryError("limit", "must be an integer from 1 to 10000");
    const after = typeof q.after === "string" ? q.after : undefined;
    if (q.purpose !== undefined && q.purpose !== "batch") {
      res.json({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
      return;
    }
    const page = await service.files.list(res.locals.owner, after, limit);
    if (page === undefined) throw queryError("after", `${String(after).slice(0, 64)} is not one of your files`);
    const data = page.files.map((f) => uploadedFileObject(f, config.files.ttlS));
    res.json({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: page.hasMore });
  });

  router.get("/v1/files/:id", async (req: Request<{ id: string }>, res: Response) => {
    res.json(await (await service.file(req.params.id, res.locals.owner)).object());
  });

  router.get("/v1/files/:id/content", async (req: Request<{ id: string }>, res: Response) => {
    const file = await service.file(req.params.id, res.locals.owner);
    res.status(200).type(file.generated ? "application/jsonl" : "application/octet-stream");
    await streamOut(res, file.content());
  });

  router.delete("/v1/files/:id", async (req: Request<{ id: string }>, res: Response) => {
    await service.deleteFile(req.params.id, res.locals.owner);
    res.json({ id: req.params.id, object: "file", deleted: true });
  });

  router.post("/v1/batches", json, async (req: Request, res: Response) => {
    const input = batchRequest(jsonBody(req));
    const { view, rec } = await service.createOpenAI(input, { owner: res.locals.owner, requestId: res.locals.requestId });
    res.json(openaiBatch(view, rec));
  });

  router.get("/v1/batches", async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const limit = limitParam(q.limit, 20, 100);
    if (limit === undefined) throw queryError("limit", "must be an integer from 1 to 100");
    const start = typeof q.after === "string" ? (await service.cursor(res.locals.owner, "openai", q.after, "after")) + 1 : 0;
    const page = await service.list(res.locals.owner, "openai", start, limit);
    const data = page.views.map(({ view, rec }) => openaiBatch(view, rec));
    res.json({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: page.hasMore });
  });

  router.get("/v1/batches/:id", async (req: Request<{ id: string }>, res: Response) => {
    const { view, rec } = await service.get(req.params.id, res.locals.owner, "openai");
    if (!isFinalBatchStatus(view.status)) res.setHeader("Retry-After", "1");
    res.json(openaiBatch(view, rec));
  });

  router.post("/v1/batches/:id/cancel", async (req: Request<{ id: string }>, res: Response) => {
    const { view, rec } = await service.cancel(req.params.id, res.locals.owner, "openai");
    res.json(openaiBatch(view, rec));
  });
}

/** POST /v1/batches' own fields; the file's lines are checked by the service. */
function batchRequest(body: unknown): { input_file_id: string; metadata?: Record<string, string> } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw fieldError("", "the body must be an object {input_file_id, endpoint, completion_window, metadata?}");
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).find((k) => !BATCH_FIELDS.has(k));
  if (extra !== undefined) throw fieldError(`/${extra}`, `${extra.slice(0, 40)} is not supported: send input_file_id, endpoint, completion_window and metadata`);
  if (typeof b.input_file_id !== "string" || b.input_file_id === "") throw fieldError("/input_file_id", "input_file_id is required: the id of a file uploaded with purpose batch");
  if (b.endpoint !== OPENAI_BATCH_ENDPOINT) {
    throw fieldError("/endpoint", `endpoint must be "${OPENAI_BATCH_ENDPOINT}": llmq runs batches of chat completions only (got ${JSON.stringify(b.endpoint ?? null).slice(0, 80)})`);
  }
  if (b.completion_window !== "24h") throw fieldError("/completion_window", `completion_window must be "24h" (got ${JSON.stringify(b.completion_window ?? null).slice(0, 40)})`);
  return { input_file_id: b.input_file_id, ...(b.metadata !== undefined && b.metadata !== null && { metadata: b.metadata as Record<string, string> }) };
}

function fieldError(path: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", message, { details: { errors: [{ path, message }] } });
}

function queryError(param: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${param} ${message}`, { details: { errors: [{ path: `/${param}`, message }] } });
}
