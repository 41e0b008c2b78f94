import type { Request, Response, Router } from "express";
import type { HealthService } from "./health-service.js";

/**
 * Probes for orchestrators, without a key and without detail:
 * - `GET /livez`: the process answers (restart it if not). Never looks at Redis: a Redis outage is not
 *   cured by restarting the API.
 * - `GET /readyz`: 200 when Redis answers and at least one worker takes jobs, else 503 (send it no traffic).
 *   503 as soon as shutdown begins, so a load balancer stops routing here while sync waits finish.
 */
export function mountProbeRoutes(router: Router, service: HealthService, lifecycle: { draining: boolean }): void {
  router.get("/livez", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req: Request, res: Response) => {
    if (lifecycle.draining) {
      res.status(503).json({ status: "draining" });
      return;
    }
    const s = await service.current();
    const reason = s.redis !== "up" ? "redis is not reachable" : s.workers === 0 ? "no worker is taking jobs" : undefined;
    res.status(reason === undefined ? 200 : 503).json({ status: reason === undefined ? "ready" : "not_ready", redis: s.redis, workers: s.workers, ...(reason && { reason }) });
  });
}
