import type { Request, Response, Router } from "express";
import { AppError, type ModelRegistry } from "@llmq/shared";
import { dialectOf } from "./compat-errors.js";

/**
 * GET /v1/models and /v1/models/{id}: every model llmq knows, of every provider, in the shape of the client
 * asking: OpenAI's `{object: "list", data: [{id, object: "model", created, owned_by}]}`, or Anthropic's
 * `{data: [{type: "model", id, display_name, created_at}], has_more, first_id, last_id}` for a client that
 * sends `anthropic-version`. The registry is fixed for the process's life, so bodies are built once.
 */
const EPOCH = Date.UTC(2024, 0, 1);

export function mountCompatModelRoutes(router: Router, registry: ModelRegistry): void {
  const models = registry.list();
  const openai = (m: (typeof models)[number]) => ({ id: m.id, object: "model", created: Math.floor(EPOCH / 1000), owned_by: m.provider });
  const anthropic = (m: (typeof models)[number]) => ({ type: "model", id: m.id, display_name: m.id, created_at: new Date(EPOCH).toISOString() });
  const openaiList = JSON.stringify({ object: "list", data: models.map(openai) });
  const anthropicList = JSON.stringify({ data: models.map(anthropic), has_more: false, first_id: models[0]?.id ?? null, last_id: models[models.length - 1]?.id ?? null });

  router.get("/v1/models", (req: Request, res: Response) => {
    res.type("application/json").send(dialectOf(req) === "anthropic" ? anthropicList : openaiList);
  });
  router.get("/v1/models/:id", (req: Request<{ id: string }>, res: Response) => {
    const model = registry.get(req.params.id);
    if (model === undefined) throw new AppError("NOT_FOUND", `no model ${req.params.id.slice(0, 100)}; GET /v1/models lists them`);
    res.json(dialectOf(req) === "anthropic" ? anthropic(model) : openai(model));
  });
}
