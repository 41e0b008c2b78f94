import type { Request, RequestHandler, Response, Router } from "express";
import { AppError, type Config, type FinalJobRecord, type JobType, type Timings } from "@llmq/shared";
import { jsonBody } from "../http/body.js";
import { waitMs } from "../http/wait-mode.js";
import type { ApiMetrics } from "../metrics/api-metrics.js";
import type { JobAnswer, JobService } from "./job-service.js";

export const JOB_ROUTE_TYPES = ["unstructured", "structured", "conversation"] as const satisfies readonly JobType[];

/** The job routes: parse the HTTP bits, ask the service, answer. */
export function mountJobRoutes(router: Router, service: JobService, config: Config, metrics: ApiMetrics, json: RequestHandler): void {
  for (const type of JOB_ROUTE_TYPES) {
    router.post(`/api/v1/${type}`, json, async (req: Request, res: Response) => {
      const body = jsonBody(req);
      const wait = waitMs(req, res, config.api);
      const answer = await service.submit(type, body, {
        owner: res.locals.owner,
        requestId: res.locals.requestId,
        waitMs: wait,
        idempotencyKey: idempotencyKey(req),
        // The client may have left while the job was being enqueued: its "close" has fired already.
        onAbort: (cancel) => (res.closed ? cancel() : res.once("close", cancel)),
      });
      metrics.outcomes.inc({ type, outcome: answer.kind === "accepted" ? "accepted" : answer.cached ? "cached" : answer.record.status });
      sendAnswer(res, answer);
    });
  }

  router.get("/api/v1/jobs/:id", async (req: Request<{ id: string }>, res: Response) => {
    const view = await service.get(req.params.id, res.locals.owner);
    res.locals.jobId = view.id;
    if (view.result !== undefined) res.setHeader("Server-Timing", serverTiming(view.result.timings));
    if (view.status === "queued" || view.status === "active") res.setHeader("Retry-After", "1");
    res.json(view);
  });

  router.delete("/api/v1/jobs/:id", async (req: Request<{ id: string }>, res: Response) => {
    const view = await service.cancel(req.params.id, res.locals.owner);
    res.locals.jobId = view.id;
    res.json(view);
  });
}

function sendAnswer(res: Response, answer: JobAnswer): void {
  if (answer.replayed) res.setHeader("Idempotent-Replayed", "true");
  if (answer.kind === "accepted") {
    res.locals.jobId = answer.view.id;
    res.setHeader("Server-Timing", apiTiming(res));
    res.setHeader("Location", `/api/v1/jobs/${answer.view.id}`);
    res.setHeader("Retry-After", "1");
    res.status(202).json(answer.view);
    return;
  }
  const record = answer.record;
  res.locals.jobId = record.id;
  if (record.status === "completed" && record.result !== undefined) {
    res.setHeader("Server-Timing", serverTiming(record.result.timings));
    res.json(answer.cached ? { ...record.result, cached: true } : record.result);
    return;
  }
  res.setHeader("Server-Timing", apiTiming(res));
  throw recordError(record);
}

/** A failed or cancelled job as the error the contract gives it (422, 502, 429, …), naming the job. */
export function recordError(record: FinalJobRecord): AppError {
  if (record.status === "cancelled") return new AppError("JOB_CANCELLED", `job ${record.id} was cancelled`, { details: { job_id: record.id } });
  const stored = AppError.fromBody(record.error ?? { code: "INTERNAL", message: "the job failed" });
  // A provider that kept answering 429 until the job gave up: the client is told when a new try makes sense.
  const headers = stored.status === 429 || stored.status === 503 ? { "Retry-After": String(PROVIDER_RETRY_AFTER_S) } : undefined;
  return new AppError(stored.code, stored.message, { details: { ...stored.details, job_id: record.id }, ...(headers && { headers }) });
}

/** Retry-After for a job that failed on a provider's rate limit or outage. */
export const PROVIDER_RETRY_AFTER_S = 30;

function serverTiming(t: Timings): string {
  return `queue;dur=${t.queued_ms}, provider;dur=${t.provider_ms}, validate;dur=${t.validate_ms}, total;dur=${t.total_ms}`;
}

function apiTiming(res: Response): string {
  return `total;dur=${(performance.now() - res.locals.startedAt).toFixed(1)}`;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotencyKey(req: Request): string | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new AppError("INVALID_REQUEST", "Idempotency-Key must be 1 to 255 visible ASCII characters", { details: { errors: [{ path: "Idempotency-Key", message: "invalid" }] } });
  }
  return key;
}
