// The model ids the simulator lists, per provider. Listing is informational: chat routes accept
// any model id and echo it back, because llmq's own registry decides which ids are valid.
// https://platform.openai.com/docs/api-reference/models/list
// https://docs.anthropic.com/en/api/models-list  https://console.groq.com/docs/api-reference#models-list

export const OPENAI_MODELS = ["gpt-3.5-turbo", "gpt-4", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini"] as const;

export const ANTHROPIC_MODELS: ReadonlyArray<readonly [id: string, displayName: string, createdAt: string]> = [
  ["claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"],
  ["claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"],
  ["claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"],
  ["claude-3-5-haiku-latest", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"],
  ["claude-2", "Claude 2", "2023-07-11T00:00:00Z"],
];

export const GROQ_MODELS: ReadonlyArray<readonly [id: string, ownedBy: string, contextWindow: number]> = [
  ["llama3-8b-8192", "Meta", 8192],
  ["llama-3.1-8b-instant", "Meta", 131072],
  ["llama-3.3-70b-versatile", "Meta", 131072],
  ["openai/gpt-oss-20b", "OpenAI", 131072],
];

const CREATED = 1_700_000_000;

// Bodies are built once: listing is a hot, constant route in load tests.
export const OPENAI_MODEL_LIST = JSON.stringify({
  object: "list",
  data: OPENAI_MODELS.map((id) => ({ id, object: "model", created: CREATED, owned_by: id.startsWith("gpt-3.5") ? "openai" : "system" })),
});

export const ANTHROPIC_MODEL_LIST = JSON.stringify({
  data: ANTHROPIC_MODELS.map(([id, display_name, created_at]) => ({ type: "model", id, display_name, created_at })),
  has_more: false,
  first_id: ANTHROPIC_MODELS[0]?.[0] ?? null,
  last_id: ANTHROPIC_MODELS[ANTHROPIC_MODELS.length - 1]?.[0] ?? null,
});

export const GROQ_MODEL_LIST = JSON.stringify({
  object: "list",
  data: GROQ_MODELS.map(([id, owned_by, context_window]) => ({
    id, object: "model", created: CREATED, owned_by, active: true, context_window, public_apps: null,
    max_completion_tokens: Math.min(context_window, 32768),
  })),
});

/** A single model object for `GET …/models/{id}`; unknown ids are answered too, like chat routes. */
export function modelObject(provider: "openai" | "anthropic" | "groq", id: string): Record<string, unknown> {
  if (provider === "anthropic") {
    const known = ANTHROPIC_MODELS.find(([m]) => m === id);
    return { type: "model", id, display_name: known?.[1] ?? id, created_at: known?.[2] ?? "2025-01-01T00:00:00Z" };
  }
  return { id, object: "model", created: CREATED, owned_by: provider === "groq" ? "Groq" : "system" };
}
