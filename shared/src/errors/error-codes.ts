/**
 * The one table from llmq's stable error codes to HTTP statuses. Codes are part of the public contract
 * (API.md): add codes, never rename or reuse them.
 */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  UNKNOWN_MODEL: 400,
  INVALID_SCHEMA: 400,
  CONTEXT_LENGTH_EXCEEDED: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  JOB_NOT_CANCELLABLE: 409,
  JOB_CANCELLED: 409,
  IDEMPOTENCY_CONFLICT: 409,
  /** A retry of a batch that still has items queued or running (or whose retry is being set up). */
  BATCH_NOT_FINISHED: 409,
  /** A retry of a batch with no failed items to re-run (or a cancelled batch). */
  NOTHING_TO_RETRY: 409,
  PAYLOAD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  OUTPUT_SCHEMA_MISMATCH: 422,
  RATE_LIMITED: 429,
  PROVIDER_RATE_LIMITED: 429,
  INTERNAL: 500,
  PROVIDER_ERROR: 502,
  /** The provider account's quota or billing refused the call (OpenAI insufficient_quota, 402): not a rate limit. */
  PROVIDER_QUOTA_EXCEEDED: 502,
  QUEUE_UNAVAILABLE: 503,
  PROVIDER_NOT_CONFIGURED: 503,
  PROVIDER_TIMEOUT: 504,
  /** A request that waits for its answer (the /v1 routes) reached MAX_WAIT_S: the job goes on, pollable by id. */
  RESULT_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export function statusForCode(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}
