import type { Request, Response, Router } from "express";
import type { Config } from "@llmq/shared";
import { unauthorized, type ApiKeyAuth } from "../http/auth.js";
import type { HealthService } from "./health-service.js";

/**
 * GET /api/v1/health answers without a key (status only: for load balancers and container health checks)
 * and with a valid key in full. A wrong key is a 401, like everywhere else. 503 when Redis is down.
 */
export function mountHealthRoutes(router: Router, service: HealthService, auth: ApiKeyAuth, config: Config, startedAt: number): void {
  router.get("/api/v1/health", async (req: Request, res: Response) => {
    const owner = auth.identify(req);
    if (owner === undefined) throw unauthorized(owner);
    const snapshot = await service.current();
    res.status(snapshot.redis === "up" ? 200 : 503);
    if (owner === null) {
      res.json({ status: snapshot.status });
      return;
    }
    res.locals.owner = owner;
    res.json({ ...snapshot, version: config.version, uptime_s: Math.round((Date.now() - startedAt) / 1000) });
  });
}
