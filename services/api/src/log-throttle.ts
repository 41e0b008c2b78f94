import type { Logger } from "@llmq/shared";

/**
 * A warn logger for errors that repeat on every reconnect attempt while Redis is down (ioredis connections,
 * BullMQ queues): at most one line per 10 s per source.
 */
export function throttledWarn(logger: Logger, message: string, bindings: Record<string, unknown> = {}): (err: Error) => void {
  let last = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    logger.warn({ ...bindings, err: err.message }, message);
  };
}
