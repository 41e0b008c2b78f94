import type { Request, Response, Router } from "express";
import type { Config } from "@llmq/shared";
import { buildOpenApiDocument } from "./openapi-document.js";

export function mountOpenApiRoutes(router: Router, config: Config): void {
  const body = Buffer.from(JSON.stringify(buildOpenApiDocument(config)));
  router.get("/api/v1/openapi.json", (_req: Request, res: Response) => {
    res.type("application/json").send(body);
  });
}
