import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Reads a `.env` file (the guide keeps `API_KEY=` there). Real environment variables win over the file,
 * so `API_KEY=x npm start` overrides it. Returns {} when the file is absent.
 */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const parsed = parseEnv(readFileSync(path, "utf8")) as Record<string, string>;
  // The guide reads the key with `cut -d '=' -f2 | tr -d '"'`: strip quotes the same way.
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) out[k] = v.replace(/^"(.*)"$/, "$1");
  return out;
}
