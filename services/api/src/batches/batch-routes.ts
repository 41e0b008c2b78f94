import { once } from "node:events";
import type { Request, Response, Router } from "express";
import { AppError, isFinalBatchStatus, type Config } from "@llmq/shared";
import { readBatchBody } from "./batch-body.js";
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, RESULT_STATUSES, type BatchService, type ResultStatus } from "./batch-service.js";

/** The batch routes: parse the HTTP bits, ask the service, answer. */
export function mountBatchRoutes(router: Router, service: BatchService, config: Config): void {
  router.post("/api/v1/batches", async (req: Request, res: Response) => {
    const body = await readBatchBody(req, { maxBytes: config.batch.bodyLimitBytes, maxItems: config.batch.maxItems });
    const view = await service.submit(body, { owner: res.locals.owner, requestId: res.locals.requestId });
    res.setHeader("Location", `/api/v1/batches/${view.id}`);
    res.setHeader("Retry-After", "1");
    res.status(202).json(view);
  });

  router.get("/api/v1/batches", async (req: Request, res: Response) => {
    const query = req.query as Record<string, unknown>;
    res.json(await service.list(res.locals.owner, listLimit(query.limit), cursorParam(query.cursor)));
  });

  router.get("/api/v1/batches/:id", async (req: Request<{ id: string }>, res: Response) => {
    const view = await service.get(req.params.id, res.locals.owner);
    if (!isFinalBatchStatus(view.status)) res.setHeader("Retry-After", "1");
    res.json(view);
  });

  router.get("/api/v1/batches/:id/results", async (req: Request<{ id: string }>, res: Response) => {
    const lines = await service.results(req.params.id, res.locals.owner, statusFilter(req));
    res.status(200).type("application/x-ndjson");
    // Chunk by chunk, waiting for the socket to drain: a 50,000-line batch never sits in memory whole.
    for await (const text of lines) {
      if (res.destroyed) break;
      if (!res.write(text)) await drained(res);
    }
    res.end();
  });

  router.post("/api/v1/batches/:id/cancel", async (req: Request<{ id: string }>, res: Response) => {
    res.json(await service.cancel(req.params.id, res.locals.owner));
  });

  router.post("/api/v1/batches/:id/retry", async (req: Request<{ id: string }>, res: Response) => {
    const view = await service.retry(req.params.id, res.locals.owner);
    res.setHeader("Retry-After", "1");
    res.json(view);
  });
}

function listLimit(raw: unknown): number {
  if (raw === undefined) return LIST_LIMIT_DEFAULT;
  const n = typeof raw === "string" && /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= LIST_LIMIT_MAX)) throw new AppError("INVALID_REQUEST", `limit must be an integer from 1 to ${LIST_LIMIT_MAX}`, { details: { errors: [{ path: "?limit", message: `must be 1..${LIST_LIMIT_MAX}` }] } });
  return n;
}

function cursorParam(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") throw new AppError("INVALID_REQUEST", "cursor must be one string", { details: { errors: [{ path: "?cursor", message: "must be a string" }] } });
  return raw;
}

function statusFilter(req: Request): ResultStatus | undefined {
  const status = (req.query as Record<string, unknown>).status;
  if (status === undefined) return undefined;
  if (typeof status === "string" && (RESULT_STATUSES as readonly string[]).includes(status)) return status as ResultStatus;
  throw new AppError("INVALID_REQUEST", `status must be one of ${RESULT_STATUSES.join(", ")}`, { details: { errors: [{ path: "?status", message: `must be one of ${RESULT_STATUSES.join(", ")}` }] } });
}

/** Resolves on 'drain', or on 'close' when the client went away. */
async function drained(res: Response): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(res, "drain", { signal: ac.signal }), once(res, "close", { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}
