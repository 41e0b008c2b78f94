import { pino, type Logger, type LoggerOptions } from "pino";

/**
 * One pino root for every llmq process. Secrets and prompts are redacted wherever they appear in a logged
 * object: provider keys (`apiKey`), client keys (headers), and message content.
 */
export const REDACT_PATHS = [
  "apiKey",
  "*.apiKey",
  "*.*.apiKey",
  "api_key",
  "*.api_key",
  "key",
  "*.key",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "headers.authorization",
  'headers["x-api-key"]',
  'headers["api-key"]',
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "*.headers.authorization",
  '*.headers["x-api-key"]',
  "prompt",
  "*.prompt",
  "messages",
  "*.messages",
  "system",
  "*.system",
];

export type { Logger };

export interface LoggerSettings {
  service: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination === undefined ? pino(options) : pino(options, settings.destination as pino.DestinationStream);
}

/** Removes anything that looks like a key from a message before it goes into an error or a log line. */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b(sk|gsk|sk-ant|sk-proj)[-_][A-Za-z0-9_-]{6,}/g, "$1-[redacted]")
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/gi, "$1[redacted]")
    .replace(/((?:api[-_]?key|x-api-key|authorization)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, "$1[redacted]");
}
