import type { NextFunction, Request, Response } from "express";
import type { RedisConnection } from "@llmq/shared";
import { AppError, type Logger } from "@llmq/shared";
import { toAppError } from "../http/errors.js";

/**
 * Errors of the /v1 routes in the shape each API's clients parse, llmq's stable code inside:
 * - OpenAI: `{"error": {message, type, param, code}}` (https://platform.openai.com/docs/guides/error-codes);
 * - Anthropic: `{"type": "error", "error": {type, message}}` (https://docs.anthropic.com/en/api/errors).
 * The status is llmq's (the one code table), so the SDKs raise their matching error classes
 * (BadRequestError, AuthenticationError, NotFoundError, RateLimitError, InternalServerError, …).
 */
export type Dialect = "openai" | "anthropic";

/** /v1/messages… speaks Anthropic; so does any /v1 request from an Anthropic client (it always sends anthropic-version). */
export function dialectOf(req: Request): Dialect {
  return req.path.startsWith("/messages") || req.path.startsWith("/v1/messages") || req.headers["anthropic-version"] !== undefined ? "anthropic" : "openai";
}

function openaiType(status: number, code: string): string {
  if (code === "PROVIDER_QUOTA_EXCEEDED") return "insufficient_quota";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

function anthropicType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** The error's body in the dialect's shape. */
export function compatErrorBody(dialect: Dialect, err: AppError, requestId: string | undefined): Record<string, unknown> {
  const body = err.toBody(requestId);
  const first = (err.details?.errors as Array<{ path?: string }> | undefined)?.[0]?.path;
  const param = typeof first === "string" && first !== "" ? first.replace(/^\//, "").replaceAll("/", ".") : null;
  const extra = { ...(body.details !== undefined && { details: body.details }), ...(requestId !== undefined && { request_id: requestId }) };
  if (dialect === "anthropic") {
    return { type: "error", error: { type: anthropicType(err.status), message: err.message, code: err.code, ...extra }, ...(requestId !== undefined && { request_id: requestId }) };
  }
  return { error: { message: err.message, type: openaiType(err.status, err.code), param, code: err.code, ...extra } };
}

export function compatErrorHandler(logger: Logger, redis: RedisConnection, bodyLimitBytes: number) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const appError = toAppError(err, redis, bodyLimitBytes);
    if (appError.status >= 500 && appError.code !== "QUEUE_UNAVAILABLE") logger.error({ err, request_id: res.locals.requestId }, "request failed");
    if (appError.headers !== undefined) res.set(appError.headers);
    res.status(appError.status).json(compatErrorBody(dialectOf(req), appError, res.locals.requestId));
  };
}

export function compatNotFound(req: Request): never {
  throw new AppError("NOT_FOUND", `no route ${req.method} ${req.originalUrl.split("?")[0]?.slice(0, 200) ?? ""}`);
}
