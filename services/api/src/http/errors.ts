import type { NextFunction, Request, Response } from "express";
import type { RedisConnection } from "@llmq/shared";
import { AppError, isAppError, type Logger } from "@llmq/shared";

/**
 * The one error middleware. Express 5 forwards rejected async handlers here. Every error leaves as
 * `{"error": {code, message, details?, request_id}}` with the status from the shared code table.
 */
export function errorHandler(logger: Logger, redis: RedisConnection, bodyLimitBytes: number) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const appError = toAppError(err, redis, bodyLimitBytes);
    if (appError.status >= 500 && appError.code !== "QUEUE_UNAVAILABLE") {
      logger.error({ err, request_id: res.locals.requestId }, "request failed");
    }
    if (appError.headers !== undefined) res.set(appError.headers);
    res.status(appError.status).json({ error: appError.toBody(res.locals.requestId) });
  };
}

/** 503 QUEUE_UNAVAILABLE: Redis is down or refusing writes; nothing was enqueued, the client may retry. */
export function queueUnavailable(cause?: unknown): AppError {
  return new AppError("QUEUE_UNAVAILABLE", "the job queue is unavailable; retry shortly", { headers: { "Retry-After": "1" }, cause });
}

/** Unmatched routes: the same error shape. */
export function notFoundHandler(req: Request): never {
  throw new AppError("NOT_FOUND", `no route ${req.method} ${req.path.slice(0, 200)}`);
}

export function toAppError(err: unknown, redis: RedisConnection, bodyLimitBytes: number): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number; message?: string } | undefined;
  switch (e?.type) {
    case "entity.parse.failed":
      return new AppError("INVALID_JSON", "the body is not valid JSON", { details: { reason: e.message?.slice(0, 200) } });
    case "entity.too.large":
      return new AppError("PAYLOAD_TOO_LARGE", `the body is larger than ${bodyLimitBytes} bytes`, { details: { limit_bytes: bodyLimitBytes } });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("UNSUPPORTED_MEDIA_TYPE", e.message ?? "unsupported body encoding");
    case "request.aborted":
    case "request.size.invalid":
      return new AppError("INVALID_REQUEST", e.message ?? "the body could not be read");
  }
  if (isRedisUnavailable(err, redis)) {
    return queueUnavailable(err);
  }
  return new AppError("INTERNAL", "internal error", { cause: err });
}

const REDIS_DOWN = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Stream isn't writeable|Command timed out|max retries|not connected|Connection timeout/i;
// A Redis Cluster failing over: the client ran out of redirections or cannot learn the new slot owners yet, or
// an auto-pipeline whose every command was redirected could not be re-sent whole (its keys now sit on several
// masters; none of its commands ran, so nothing was enqueued).
const CLUSTER_MOVING = /Cluster isn't ready|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|keys in the pipeline should belong to the same slots|^(MOVED|ASK) /i;
// A full Redis under `noeviction` (OOM), or one that is loading or read-only (a replica after failover): it
// answers, but accepts no work. Nothing was enqueued; the client may retry.
const REDIS_REFUSING = /^(OOM|LOADING|READONLY|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN)\b/;

/** A Redis command that failed because Redis is unreachable or refusing writes (not a bug of ours): answered 503. */
function isRedisUnavailable(err: unknown, redis: RedisConnection): boolean {
  if (!(err instanceof Error)) return false;
  return (
    redis.status !== "ready" ||
    REDIS_DOWN.test(err.message) ||
    REDIS_REFUSING.test(err.message) ||
    CLUSTER_MOVING.test(err.message) ||
    err.name === "MaxRetriesPerRequestError" ||
    err.name === "ClusterAllFailedError"
  );
}
