import { readFileSync } from "node:fs";
import type { RateLimits } from "../config/config.js";
import { isProviderName, type ProviderName } from "../contracts/providers.js";

/**
 * How a model is asked for JSON that fits a schema:
 * - json_schema: the provider's native structured outputs (OpenAI/Groq `response_format: json_schema`);
 * - json_object: JSON mode, the schema goes in the instructions, ajv checks the result;
 * - tool: a forced tool/function call whose parameters are the schema (Anthropic; older OpenAI models).
 */
export const STRUCTURED_MODES = ["json_schema", "json_object", "tool"] as const;
export type StructuredMode = (typeof STRUCTURED_MODES)[number];

export const TOKENIZERS = ["o200k_base", "cl100k_base"] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];

export interface ModelInfo {
  id: string;
  provider: ProviderName;
  /** The model name sent to the provider. */
  upstream: string;
  context_window: number;
  max_output_tokens: number;
  structured: StructuredMode;
  conversation: boolean;
  /** The BPE used for the context-window estimate (other providers' models use the same estimate). */
  tokenizer: TokenizerName;
  /** Set for ids kept for compatibility whose upstream model the provider has retired or will retire. */
  legacy?: boolean;
  /** This model's own rate limits (models file `rpm`, `tpm`, `itpm`, `otpm`); they win over the provider's. */
  limits?: RateLimits;
}

export const LIMIT_FIELDS = ["rpm", "tpm", "itpm", "otpm"] as const;

type Def = [id: string, provider: ProviderName, ctx: number, maxOut: number, structured: StructuredMode, extra?: Partial<ModelInfo>];

// Sources: each provider's models page (platform.openai.com/docs/models, docs.anthropic.com/en/docs/about-claude/models,
// console.groq.com/docs/models). The guide's ids come first.
const DEFAULTS: Def[] = [
  ["gpt-3.5-turbo", "openai", 16_385, 4_096, "json_object", { tokenizer: "cl100k_base", legacy: true }],
  ["gpt-4", "openai", 8_192, 8_192, "tool", { tokenizer: "cl100k_base", legacy: true }],
  ["claude-2", "anthropic", 100_000, 4_096, "tool", { upstream: "claude-2.1", legacy: true }],
  ["llama3-8b-8192", "groq", 8_192, 8_192, "json_object", { upstream: "llama-3.1-8b-instant", legacy: true }],
  ["gpt-4o", "openai", 128_000, 16_384, "json_schema"],
  ["gpt-4o-mini", "openai", 128_000, 16_384, "json_schema"],
  ["gpt-4.1", "openai", 1_047_576, 32_768, "json_schema"],
  ["gpt-4.1-mini", "openai", 1_047_576, 32_768, "json_schema"],
  ["gpt-5", "openai", 400_000, 128_000, "json_schema"],
  ["gpt-5-mini", "openai", 400_000, 128_000, "json_schema"],
  ["o4-mini", "openai", 200_000, 100_000, "json_schema"],
  ["claude-sonnet-4-5", "anthropic", 200_000, 64_000, "tool"],
  ["claude-opus-4-1", "anthropic", 200_000, 32_000, "tool"],
  ["claude-haiku-4-5", "anthropic", 200_000, 64_000, "tool"],
  ["claude-3-5-haiku-latest", "anthropic", 200_000, 8_192, "tool"],
  ["llama-3.1-8b-instant", "groq", 131_072, 131_072, "json_object"],
  ["llama-3.3-70b-versatile", "groq", 131_072, 32_768, "json_object"],
  ["openai/gpt-oss-20b", "groq", 131_072, 65_536, "json_schema"],
  ["openai/gpt-oss-120b", "groq", 131_072, 65_536, "json_schema"],
];

export const DEFAULT_MODELS: readonly ModelInfo[] = DEFAULTS.map(([id, provider, ctx, maxOut, structured, extra]) => ({
  id,
  provider,
  upstream: id,
  context_window: ctx,
  max_output_tokens: maxOut,
  structured,
  conversation: true,
  tokenizer: provider === "openai" && !extra?.tokenizer ? "o200k_base" : "cl100k_base",
  ...extra,
}));

export class ModelRegistry {
  private readonly byId: ReadonlyMap<string, ModelInfo>;
  readonly ids: readonly string[];

  constructor(models: readonly ModelInfo[]) {
    this.byId = new Map(models.map((m) => [m.id, m]));
    this.ids = [...this.byId.keys()];
  }

  get(id: string): ModelInfo | undefined {
    return this.byId.get(id);
  }

  list(): ModelInfo[] {
    return [...this.byId.values()];
  }

  /** Built-in defaults, overridden entry by entry by MODELS_FILE when set. */
  static load(modelsFile: string | undefined): ModelRegistry {
    if (modelsFile === undefined) return new ModelRegistry(DEFAULT_MODELS);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(modelsFile, "utf8"));
    } catch (err) {
      throw new Error(`MODELS_FILE ${modelsFile} could not be read as JSON: ${(err as Error).message}. Fix: point MODELS_FILE at a JSON file like {"models": [{"id": "my-model", "provider": "openai", ...}]}`);
    }
    return new ModelRegistry(mergeModels(DEFAULT_MODELS, raw, modelsFile));
  }
}

/**
 * A models file: `{"replace"?: boolean, "models": [entry]}`. An entry with an existing id overrides the
 * fields it names; `{"id": "x", "remove": true}` drops a model; a new id needs `provider`.
 */
export function mergeModels(base: readonly ModelInfo[], raw: unknown, source = "models file"): ModelInfo[] {
  const problems: string[] = [];
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as { models?: unknown }).models)) {
    throw new Error(`${source}: expected {"models": [...]}`);
  }
  const file = raw as { replace?: boolean; models: unknown[] };
  const out = new Map((file.replace === true ? [] : base).map((m) => [m.id, m]));
  file.models.forEach((entry, i) => {
    const e = entry as Partial<ModelInfo> & { remove?: boolean };
    if (typeof e !== "object" || e === null || typeof e.id !== "string" || e.id.length === 0) {
      problems.push(`models[${i}]: needs a string "id"`);
      return;
    }
    if (e.remove === true) {
      out.delete(e.id);
      return;
    }
    const prev = out.get(e.id);
    const provider = e.provider ?? prev?.provider;
    if (!isProviderName(provider)) {
      problems.push(`models[${i}] (${e.id}): "provider" must be openai, anthropic or groq`);
      return;
    }
    const limits = mergeLimits(e as Record<string, unknown>, prev?.limits, (field) => problems.push(`models[${i}] (${e.id}): ${field} must be a positive integer (requests or tokens per minute)`));
    const merged: ModelInfo = {
      id: e.id,
      provider,
      upstream: e.upstream ?? prev?.upstream ?? e.id,
      context_window: e.context_window ?? prev?.context_window ?? 8192,
      max_output_tokens: e.max_output_tokens ?? prev?.max_output_tokens ?? 4096,
      structured: e.structured ?? prev?.structured ?? (provider === "anthropic" ? "tool" : "json_object"),
      conversation: e.conversation ?? prev?.conversation ?? true,
      tokenizer: e.tokenizer ?? prev?.tokenizer ?? "cl100k_base",
      ...(limits === undefined ? {} : { limits }),
    };
    if (!Number.isInteger(merged.context_window) || merged.context_window < 1) problems.push(`models[${i}] (${e.id}): context_window must be a positive integer`);
    if (!Number.isInteger(merged.max_output_tokens) || merged.max_output_tokens < 1) problems.push(`models[${i}] (${e.id}): max_output_tokens must be a positive integer`);
    if (!(STRUCTURED_MODES as readonly string[]).includes(merged.structured)) problems.push(`models[${i}] (${e.id}): structured must be one of ${STRUCTURED_MODES.join(", ")}`);
    if (!(TOKENIZERS as readonly string[]).includes(merged.tokenizer)) problems.push(`models[${i}] (${e.id}): tokenizer must be one of ${TOKENIZERS.join(", ")}`);
    out.set(e.id, merged);
  });
  if (problems.length > 0) throw new Error(`${source} is invalid:\n  - ${problems.join("\n  - ")}`);
  return [...out.values()];
}

/** An entry's `rpm`/`tpm`/`itpm`/`otpm` over the previous ones; undefined when there are none. */
function mergeLimits(entry: Record<string, unknown>, prev: RateLimits | undefined, bad: (field: string) => void): RateLimits | undefined {
  const out: RateLimits = { ...prev };
  for (const field of LIMIT_FIELDS) {
    const v = entry[field];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) bad(field);
    else out[field] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
