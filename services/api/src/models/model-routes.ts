import type { Request, Response, Router } from "express";
import type { Config, ModelRegistry } from "@llmq/shared";

export interface ModelView {
  id: string;
  provider: string;
  context_window: number;
  max_output_tokens: number;
  supports: { structured: boolean; conversation: boolean };
  available: boolean;
  simulated: boolean;
}

export function modelViews(registry: ModelRegistry, config: Config): ModelView[] {
  return registry.list().map((m) => {
    const provider = config.providers[m.provider];
    return {
      id: m.id,
      provider: m.provider,
      context_window: m.context_window,
      max_output_tokens: m.max_output_tokens,
      supports: { structured: true, conversation: m.conversation },
      available: provider.simulated || provider.apiKey !== undefined,
      simulated: provider.simulated,
    };
  });
}

/** The registry and config are fixed for the process's life: the body is serialised once. */
export function mountModelRoutes(router: Router, registry: ModelRegistry, config: Config): void {
  const body = Buffer.from(JSON.stringify({ models: modelViews(registry, config) }));
  router.get("/api/v1/models", (_req: Request, res: Response) => {
    res.type("application/json").send(body);
  });
}
