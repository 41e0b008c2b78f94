import { hash, timingSafeEqual } from "node:crypto";
import type { Express, NextFunction, Request, Response } from "express";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { AppError, PROVIDERS } from "@llmq/shared";
import type { JobQueues } from "../jobs/job-queues.js";

export const ADMIN_BASE_PATH = "/admin/queues";

/**
 * bull-board at /admin/queues, behind HTTP Basic auth whose password is ADMIN_API_KEY (any user name). With no
 * ADMIN_API_KEY the board is not mounted at all: the path is an ordinary 404.
 *
 * Read-only on purpose: llmq's final records, not BullMQ's job states, are what clients read. A job retried or
 * removed from the board would not change its stored result (the worker skips a job that has one), and a
 * removed waiting job would leave its sync request waiting out its `wait`. Jobs carry prompts: the board shows
 * them, which is why it is behind the admin key and not a client key.
 */
export function mountAdminDashboard(app: Express, queues: JobQueues, adminKeyHash: string | undefined): void {
  if (adminKeyHash === undefined) return;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_BASE_PATH);
  createBullBoard({
    queues: PROVIDERS.map((p) => new BullMQAdapter(queues[p], { readOnlyMode: true, allowRetries: false })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "llmq", hideDocsLink: true } },
  });
  app.use(ADMIN_BASE_PATH, basicAuth(adminKeyHash), serverAdapter.getRouter());
}

const CHALLENGE = { "WWW-Authenticate": 'Basic realm="llmq admin", charset="UTF-8"' };

/** Compares sha256(password) with the configured hash in constant time; the user name is ignored. */
export function basicAuth(adminKeyHash: string) {
  const expected = Buffer.from(adminKeyHash, "hex");
  return (req: Request, res: Response, next: NextFunction): void => {
    const password = basicPassword(req.headers.authorization);
    if (password === undefined) throw new AppError("UNAUTHORIZED", "the admin dashboard needs HTTP Basic auth with ADMIN_API_KEY as the password", { headers: CHALLENGE });
    if (!timingSafeEqual(hash("sha256", password, "buffer"), expected)) throw new AppError("UNAUTHORIZED", "the admin password is not valid", { headers: CHALLENGE });
    res.locals.owner = "admin";
    next();
  };
}

function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== "basic ") return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
