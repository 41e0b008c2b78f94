import { resolve } from "node:path";
import { parseConfig, type Config } from "./config.js";
import { readEnvFile } from "./env-file.js";

let cached: Config | undefined;

/**
 * The only reader of process.env in llmq. Reads `.env` (ENV_FILE, default ./.env) under the real
 * environment, parses once, and caches. Throws ConfigError naming every bad variable and its fix.
 */
export function loadConfig(overrides: Record<string, string | undefined> = {}): Config {
  if (cached !== undefined && Object.keys(overrides).length === 0) return cached;
  const envFile = overrides.ENV_FILE ?? process.env.ENV_FILE ?? resolve(process.cwd(), ".env");
  const env = { ...readEnvFile(envFile), ...process.env, ...overrides };
  const config = parseConfig(env);
  if (Object.keys(overrides).length === 0) cached = config;
  return config;
}

/** The process environment as read by config, for the launcher that passes it on to child processes. */
export function processEnv(): Record<string, string | undefined> {
  return { ...process.env };
}

/** One raw variable, unparsed: for the test fixture's REDIS_URL probe and the launcher's pass-through. */
export function rawEnv(name: string): string | undefined {
  return process.env[name];
}
