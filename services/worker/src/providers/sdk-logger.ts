import type { Logger } from "@llmq/shared";

/**
 * The SDKs log through a `{error, warn, info, debug}` object (console by default). This one forwards their
 * messages to pino, message only: the SDKs' extra arguments can carry request details llmq does not log.
 */
export interface SdkLogger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export function sdkLogger(logger: Logger): SdkLogger {
  return {
    error: (m) => logger.error({ sdk: true }, String(m)),
    warn: (m) => logger.warn({ sdk: true }, String(m)),
    info: (m) => logger.debug({ sdk: true }, String(m)),
    debug: (m) => logger.trace({ sdk: true }, String(m)),
  };
}
