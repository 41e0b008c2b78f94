import type { Request, Response, Router } from "express";
import type { ApiMetrics } from "./api-metrics.js";

export function mountMetricsRoutes(router: Router, metrics: ApiMetrics): void {
  router.get("/metrics", async (_req: Request, res: Response) => {
    const text = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(text);
  });
}
