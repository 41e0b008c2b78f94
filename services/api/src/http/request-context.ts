import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "@llmq/shared";
import type { ApiMetrics } from "../metrics/api-metrics.js";

// A client's id is echoed only if it is short and plain: it goes into logs and headers.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The first middleware: X-Request-Id (echoed if sane, else generated), `Connection: close` while draining,
 * and one metrics observation plus at most one log line per request when its response is done (or the
 * client left). Successful requests log at debug: the worker already logs one line per job outcome at info,
 * and a line per request costs a write syscall on the hot path. Refused requests log at info, failures at
 * warn. The route label is the Express route pattern, never the raw path, so ids do not explode cardinality.
 */
export function requestContext(logger: Logger, metrics: ApiMetrics, lifecycle: { draining: boolean }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && SANE_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.locals.owner = "";
    res.locals.startedAt = performance.now();
    res.setHeader("X-Request-Id", id);
    if (lifecycle.draining) res.setHeader("Connection", "close");
    res.once("close", () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      const seconds = (performance.now() - res.locals.startedAt) / 1000;
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.requests.inc({ route, method: req.method, status });
      metrics.duration.observe({ route, method: req.method }, seconds);
      const level = status >= 500 ? "warn" : status >= 400 ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const line: Record<string, unknown> = { request_id: id, method: req.method, route, status, ms: Math.round(seconds * 10_000) / 10 };
      if (res.locals.owner) line.owner = res.locals.owner;
      if (res.locals.jobId !== undefined) line.job_id = res.locals.jobId;
      logger[level](line, "request");
    });
    next();
  };
}
