import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "./errors.js";

/**
 * Where llmq is and which key to use: `--url`/`--api-key`, else LLMQ_URL/LLMQ_API_KEY from the environment, else
 * the same two from `.env` in the working directory. Run from an llmq checkout started with `npm start`, the
 * `.env`'s own PORT and API_KEY (or the first key of API_KEYS) are used when the LLMQ_ ones are absent, so
 * `npx llmq …` needs no setup there. The key is never printed.
 */
export interface Settings {
  url: string;
  apiKey: string;
}

export const DEFAULT_URL = "http://localhost:8000";

export function resolveSettings(flags: { url?: string | undefined; "api-key"?: string | undefined }, env: NodeJS.ProcessEnv, cwd: string): Settings {
  const dotenv = readDotenv(join(cwd, ".env"));
  const url = flags.url ?? env.LLMQ_URL ?? dotenv.LLMQ_URL ?? (dotenv.PORT !== undefined ? `http://localhost:${dotenv.PORT}` : DEFAULT_URL);
  const apiKey = flags["api-key"] ?? env.LLMQ_API_KEY ?? dotenv.LLMQ_API_KEY ?? dotenv.API_KEY ?? firstKey(dotenv.API_KEYS);
  if (apiKey === undefined || apiKey === "") {
    throw new UsageError("no API key: pass --api-key, or set LLMQ_API_KEY (in the environment or in .env)");
  }
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--url / LLMQ_URL must be an http(s) URL, got "${url.slice(0, 100)}"`);
  return { url: url.replace(/\/+$/, ""), apiKey };
}

/** KEY=VALUE lines; # comments, blank lines, optional quotes. A missing file is no settings. */
export function readDotenv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const raw of readFileSync(path, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (m === null) continue;
    let value = m[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(value);
    value = quoted !== null ? (quoted[2] ?? "") : value.replace(/\s+#.*$/, "");
    out[m[1] as string] = value;
  }
  return out;
}

/** API_KEYS is `name:key,name:key`. */
function firstKey(keys: string | undefined): string | undefined {
  const first = keys?.split(",")[0]?.trim();
  if (first === undefined || first === "") return undefined;
  const colon = first.indexOf(":");
  return colon < 0 ? first : first.slice(colon + 1);
}
