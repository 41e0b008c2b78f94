import type { Request, RequestHandler, Response, Router } from "express";
import { SCHEMA_REGISTRATION_SCHEMA, compileRequestValidator, type SchemaRegistrationBody } from "@llmq/shared";
import { invalidBody, jsonBody } from "../http/body.js";
import type { SchemaService } from "./schema-service.js";

export function mountSchemaRoutes(router: Router, service: SchemaService, json: RequestHandler): void {
  const validate = compileRequestValidator(SCHEMA_REGISTRATION_SCHEMA);

  router.post("/api/v1/schemas", json, async (req: Request, res: Response) => {
    const body = jsonBody(req);
    const issues = validate(body);
    if (issues !== undefined) throw invalidBody(issues);
    const { name, schema } = body as SchemaRegistrationBody;
    const entry = await service.register(res.locals.owner, name, schema);
    res.status(201).setHeader("Location", `/api/v1/schemas/${entry.id}`);
    res.json({ id: entry.id, name: entry.name, schema: entry.schema });
  });

  router.get("/api/v1/schemas/:id", async (req: Request<{ id: string }>, res: Response) => {
    const entry = await service.get(res.locals.owner, req.params.id);
    res.json({ id: entry.id, name: entry.name, schema: entry.schema });
  });
}
