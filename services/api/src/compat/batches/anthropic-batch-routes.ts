import type { Request, Response, Router } from "express";
import { AppError, isFinalBatchStatus, type Config } from "@llmq/shared";
import { readBatchBody } from "../../batches/batch-body.js";
import { anthropicBatch, batchIdOfAnthropic } from "./batch-render.js";
import type { CompatBatchService } from "./compat-batch-service.js";
import { limitParam, streamOut } from "./stream-out.js";

/**
 * Anthropic's Message Batches routes under /v1/messages/batches (create, retrieve, list, cancel, results).
 * The create body is read with the batch route's own limits (BATCH_BODY_LIMIT, BATCH_MAX_ITEMS), not BODY_LIMIT;
 * errors leave in Anthropic's shape (compat-errors.ts picks it from the /v1/messages path).
 */
export function mountAnthropicBatchRoutes(router: Router, service: CompatBatchService, config: Config): void {
  router.post("/v1/messages/batches", async (req: Request, res: Response) => {
    const body = await readBatchBody(req, { maxBytes: config.batch.bodyLimitBytes, maxItems: config.batch.maxItems });
    const view = await service.createAnthropic(body, { owner: res.locals.owner, requestId: res.locals.requestId });
    res.json(anthropicBatch(view));
  });

  router.get("/v1/messages/batches", async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const limit = limitParam(q.limit, 20, 1000);
    if (limit === undefined) throw queryError("limit", "must be an integer from 1 to 1000");
    const owner = res.locals.owner;
    let page;
    if (typeof q.before_id === "string") {
      // The page just newer than before_id: ranks [rank - limit, rank - 1] of the newest-first list.
      const before = batchIdOf(q.before_id, "before_id");
      const rank = await service.cursor(owner, "anthropic", before, "before_id");
      const start = Math.max(0, rank - limit);
      const found = await service.list(owner, "anthropic", start, rank - start);
      // A page short of expired batches is filled from further down: never with before_id or older.
      const cut = found.views.findIndex(({ view }) => view.id === before);
      page = { views: cut === -1 ? found.views : found.views.slice(0, cut), hasMore: start > 0 };
    } else {
      const start = typeof q.after_id === "string" ? (await service.cursor(owner, "anthropic", batchIdOf(q.after_id, "after_id"), "after_id")) + 1 : 0;
      page = await service.list(owner, "anthropic", start, limit);
    }
    const data = page.views.map(({ view }) => anthropicBatch(view));
    res.json({ data, has_more: page.hasMore, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
  });

  router.get("/v1/messages/batches/:id", async (req: Request<{ id: string }>, res: Response) => {
    const { view } = await service.get(batchIdOrNotFound(req.params.id), res.locals.owner, "anthropic").catch(notFoundAs(req.params.id));
    if (!isFinalBatchStatus(view.status)) res.setHeader("Retry-After", "1");
    res.json(anthropicBatch(view));
  });

  router.post("/v1/messages/batches/:id/cancel", async (req: Request<{ id: string }>, res: Response) => {
    const { view } = await service.cancel(batchIdOrNotFound(req.params.id), res.locals.owner, "anthropic").catch(notFoundAs(req.params.id));
    res.json(anthropicBatch(view));
  });

  router.get("/v1/messages/batches/:id/results", async (req: Request<{ id: string }>, res: Response) => {
    const lines = await service.anthropicResults(batchIdOrNotFound(req.params.id), res.locals.owner).catch(notFoundAs(req.params.id));
    res.status(200).type("application/x-jsonl");
    await streamOut(res, lines);
  });
}

function batchIdOrNotFound(id: string): string {
  const batchId = batchIdOfAnthropic(id);
  if (batchId === undefined) throw notFound(id);
  return batchId;
}

function batchIdOf(id: string, param: string): string {
  const batchId = batchIdOfAnthropic(id);
  if (batchId === undefined) throw queryError(param, `${id.slice(0, 64)} is not a message batch id`);
  return batchId;
}

/** A 404 names the id the client sent (msgbatch_…), not llmq's batch id under it. */
function notFoundAs(id: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof AppError && err.code === "NOT_FOUND") throw notFound(id);
    throw err;
  };
}

function notFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no message batch ${id.slice(0, 80)}`);
}

function queryError(param: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${param} ${message}`, { details: { errors: [{ path: `/${param}`, message }] } });
}
