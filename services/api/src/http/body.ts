import type { Request } from "express";
import { AppError, type SchemaIssue } from "@llmq/shared";

/** The parsed JSON body; express.json() leaves it undefined when the request is not JSON. */
export function jsonBody(req: Request): unknown {
  if (req.body !== undefined) return req.body;
  if (req.headers["content-type"] !== undefined) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send the body as JSON with Content-Type: application/json");
  }
  throw new AppError("INVALID_REQUEST", "a JSON body is required (Content-Type: application/json)", { details: { errors: [{ path: "", message: "is required" }] } });
}

/** 400 INVALID_REQUEST naming the first issue in the message and every issue, by path, in the details. */
export function invalidBody(issues: SchemaIssue[]): AppError {
  return new AppError("INVALID_REQUEST", `the request body is invalid: ${issues[0]?.path || "body"} ${issues[0]?.message}`, { details: { errors: issues } });
}
