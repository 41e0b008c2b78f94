import {
  AppError,
  JOB_REQUEST_SCHEMAS,
  compileRequestValidator,
  hashJson,
  tokensWithin,
  type ChatMessage,
  type Config,
  type JobPayload,
  type JobRequestBody,
  type JobType,
  type ModelInfo,
  type ModelRegistry,
  type RequestValidator,
  type SchemaGuard,
} from "@llmq/shared";
import { invalidBody } from "../http/body.js";
import type { SchemaService } from "../schemas/schema-service.js";

/**
 * Turns a request body into a job payload, or refuses it. Checks, cheapest first: the body against the route's
 * JSON Schema (compiled once), the model, max_tokens against the model's maximum, the messages count, the
 * client's schema (SchemaGuard: size, depth, refs, patterns), and the prompt against the model's context
 * window (`tokensWithin`: a byte count proves most prompts fit without tokenizing).
 */
export interface PlannedJob {
  type: JobType;
  model: ModelInfo;
  /** The payload minus what the service adds when it enqueues (cache_key). */
  payload: JobPayload;
  /** Set when the body asked for the response cache. */
  cacheKey?: string;
}

export interface RequestContext {
  owner: string;
  requestId: string;
  now: number;
}

export class JobRequestPlanner {
  private readonly validators: Record<JobType, RequestValidator>;

  constructor(
    private readonly config: Config,
    private readonly models: ModelRegistry,
    private readonly guard: SchemaGuard,
    private readonly schemas: SchemaService,
  ) {
    this.validators = {
      unstructured: compileRequestValidator(JOB_REQUEST_SCHEMAS.unstructured),
      structured: compileRequestValidator(JOB_REQUEST_SCHEMAS.structured),
      conversation: compileRequestValidator(JOB_REQUEST_SCHEMAS.conversation),
    };
  }

  async plan(type: JobType, raw: unknown, ctx: RequestContext): Promise<PlannedJob> {
    const issues = this.validators[type](raw);
    if (issues !== undefined) throw invalidBody(issues);
    const body = raw as JobRequestBody;
    const model = this.model(body, type);

    const messages: ChatMessage[] = body.messages ?? [{ role: "user", content: body.prompt ?? "" }];
    if (messages.length > this.config.api.maxMessages) {
      throw fieldError("/messages", `has ${messages.length} messages; the limit is ${this.config.api.maxMessages}`);
    }
    const envelope = {
      model: model.id,
      provider: model.provider,
      owner: ctx.owner,
      request_id: ctx.requestId,
      created_at: ctx.now,
      ...(body.max_tokens !== undefined && { max_tokens: body.max_tokens }),
      ...(body.temperature !== undefined && { temperature: body.temperature }),
    };

    let payload: JobPayload;
    if (type === "structured") {
      const { schema, hash } = await this.schema(body, ctx.owner);
      payload = { type, ...envelope, messages, ...(body.system !== undefined && { system: body.system }), schema, schema_hash: hash };
    } else if (type === "unstructured") {
      payload = { type, ...envelope, messages, ...(body.system !== undefined && { system: body.system }) };
    } else {
      payload = { type, ...envelope, messages };
    }
    this.checkContext(payload, model);

    const planned: PlannedJob = { type, model, payload };
    if (body.cache === true) planned.cacheKey = cacheKeyOf(payload);
    return planned;
  }

  private model(body: JobRequestBody, type: JobType): ModelInfo {
    const model = this.models.get(body.model);
    if (model === undefined) {
      throw new AppError("UNKNOWN_MODEL", `unknown model "${body.model.slice(0, 100)}"; GET /api/v1/models lists the valid ids`, { details: { valid_models: this.models.ids } });
    }
    const provider = this.config.providers[model.provider];
    if (!provider.simulated && provider.apiKey === undefined) {
      throw new AppError("PROVIDER_NOT_CONFIGURED", `${model.provider} has no API key configured`, { details: { provider: model.provider } });
    }
    if (type === "conversation" && !model.conversation) throw fieldError("/model", `${model.id} does not support conversations`);
    if (body.max_tokens !== undefined && body.max_tokens > model.max_output_tokens) {
      throw fieldError("/max_tokens", `must be at most ${model.max_output_tokens} for ${model.id}`);
    }
    return model;
  }

  private async schema(body: JobRequestBody, owner: string): Promise<{ schema: Record<string, unknown> | boolean; hash: string }> {
    if (body.schema !== undefined) return this.guard.check(body.schema);
    const stored = await this.schemas.find(owner, body.schema_id ?? "");
    if (stored === undefined) throw fieldError("/schema_id", "no registered schema has this id");
    return { schema: stored.schema, hash: stored.schema_hash };
  }

  /**
   * The prompt plus the room asked for the answer must fit the model's window. A conversation only needs
   * its system messages and last turn to fit: the worker drops the oldest other turns.
   */
  private checkContext(payload: JobPayload, model: ModelInfo): void {
    const limit = model.context_window - (payload.max_tokens ?? 0);
    let counted: ChatMessage[] = payload.messages;
    if (payload.type === "conversation") {
      counted = payload.messages.filter((m, i) => m.role === "system" || i === payload.messages.length - 1);
    } else if (payload.system !== undefined) {
      counted = [{ role: "system", content: payload.system }, ...payload.messages];
    }
    const { tokens, fits } = tokensWithin(counted, limit, model.tokenizer);
    if (!fits) {
      throw new AppError("CONTEXT_LENGTH_EXCEEDED", `the prompt is ${tokens} tokens; ${model.id} fits ${limit} with max_tokens ${payload.max_tokens ?? 0}`, {
        details: { prompt_tokens: tokens, context_window: model.context_window, max_tokens: payload.max_tokens ?? null, model: model.id },
      });
    }
  }
}

function fieldError(path: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${path} ${message}`, { details: { errors: [{ path, message }] } });
}

/** Owner-scoped: one key's cached answers are never served to another (nor is their existence revealed). */
function cacheKeyOf(p: JobPayload): string {
  return hashJson({
    owner: p.owner,
    type: p.type,
    model: p.model,
    messages: p.messages,
    system: "system" in p ? p.system : undefined,
    schema_hash: p.type === "structured" ? p.schema_hash : undefined,
    max_tokens: p.max_tokens,
    temperature: p.temperature,
  });
}
