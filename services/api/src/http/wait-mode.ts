import type { Request, Response } from "express";
import { AppError, type Config } from "@llmq/shared";

/**
 * How long a job route waits: `?wait=N` or `Prefer: wait=N` seconds (default DEFAULT_WAIT_S, capped at
 * MAX_WAIT_S); `?async=true` or `Prefer: respond-async` answers 202 at once. The query wins over Prefer.
 * Honoured preferences are echoed in `Preference-Applied` (RFC 7240).
 */
export function waitMs(req: Request, res: Response, api: Config["api"]): number {
  const query = req.query as Record<string, unknown>;
  const prefer = req.get("prefer");
  let preferAsync = false;
  let preferWait: string | undefined;
  if (prefer !== undefined) {
    for (const part of prefer.split(/[,;]/)) {
      const token = part.trim().toLowerCase();
      if (token === "respond-async") preferAsync = true;
      else if (token.startsWith("wait=")) preferWait = token.slice(5).replace(/^"|"$/g, "");
    }
  }
  const asyncQuery = query.async;
  if (asyncQuery !== undefined) {
    if (asyncQuery === "true" || asyncQuery === "1") return 0;
    if (asyncQuery !== "false" && asyncQuery !== "0") throw queryError("async", "must be true or false");
  } else if (preferAsync) {
    res.setHeader("Preference-Applied", "respond-async");
    return 0;
  }
  const raw = query.wait ?? preferWait;
  if (raw === undefined) return api.defaultWaitS * 1000;
  const seconds = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(seconds) || seconds < 0) throw queryError("wait", "must be a number of seconds, 0 or more");
  const applied = Math.min(seconds, api.maxWaitS);
  if (query.wait === undefined) res.setHeader("Preference-Applied", `wait=${applied}`);
  return applied * 1000;
}

function queryError(name: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${name} ${message}`, { details: { errors: [{ path: `?${name}`, message }] } });
}
