import { statusForCode, isErrorCode, type ErrorCode } from "./error-codes.js";

/** The wire shape of an error, inside `{"error": …}` (API.md). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

/**
 * The one error type llmq raises on purpose. The code is stable and machine-readable; the HTTP status is
 * derived from it (never chosen at the throw site), the message is for humans and must never hold a secret.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** Extra response headers the API should send, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }

  get status(): number {
    return statusForCode(this.code);
  }

  toBody(requestId?: string): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    if (requestId !== undefined) body.request_id = requestId;
    return body;
  }

  /** Rebuilds an AppError from a stored ErrorBody (a failed job's record). */
  static fromBody(body: { code: string; message: string; details?: Record<string, unknown> }): AppError {
    const code = isErrorCode(body.code) ? body.code : "INTERNAL";
    return new AppError(code, body.message, body.details === undefined ? {} : { details: body.details });
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
