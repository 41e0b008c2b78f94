import { BACKOFF_TYPE } from "@llmq/shared";

/**
 * Delay before BullMQ's next attempt of a job that failed with a retryable error: exponential in the
 * attempt number with "equal jitter" (half fixed, half random), so jobs that failed together (a provider
 * blip) do not come back together. A provider's own Retry-After, when it sent one, is a floor.
 * Registered as the Worker's `settings.backoffStrategy`; jobs name it via `defaultJobOptions` (BACKOFF_TYPE).
 */
export const MAX_BACKOFF_MS = 5 * 60_000;

export function backoffDelay(attemptsMade: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The delay before attempt `attemptsMade + 1`: backoffDelay, with a provider's Retry-After (capped) as a floor. */
export function retryDelay(attemptsMade: number, baseMs: number, retryAfterMs: number | undefined): number {
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, MAX_BACKOFF_MS);
  return Math.max(backoffDelay(attemptsMade, baseMs), floor);
}

/** An error that asks for a retry, optionally not before `retryAfterMs`. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = "RetryableError";
  }
}

interface BackoffJob {
  opts: { backoff?: number | { type: string; delay?: number } };
}

export function createBackoffStrategy(defaultBaseMs: number) {
  return (attemptsMade: number, type?: string, err?: Error, job?: BackoffJob): number => {
    const backoff = job?.opts.backoff;
    const base = typeof backoff === "object" && backoff.type === (type ?? BACKOFF_TYPE) && backoff.delay !== undefined ? backoff.delay : defaultBaseMs;
    return retryDelay(attemptsMade, base, err instanceof RetryableError ? err.retryAfterMs : undefined);
  };
}
