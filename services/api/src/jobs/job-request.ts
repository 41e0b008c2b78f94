import {
  AppError,
  ANTHROPIC_MESSAGES_REQUEST_SCHEMA,
  JOB_REQUEST_SCHEMAS,
  OPENAI_CHAT_REQUEST_SCHEMA,
  compileRequestValidator,
  hashJson,
  tokensWithin,
  turnsAsMessages,
  type ChatMessage,
  type Config,
  type JobPayload,
  type JobRequestBody,
  type JobType,
  type ModelInfo,
  type AnthropicMessagesBody,
  type ChatPayload,
  type JobEnvelope,
  type ModelRegistry,
  type OpenAIChatBody,
  type RequestValidator,
  type SchemaGuard,
} from "@llmq/shared";
import { invalidBody } from "../http/body.js";
import type { SchemaService } from "../schemas/schema-service.js";
import { fromAnthropicMessages, fromOpenAIChat, type ChatParts } from "../compat/chat-request.js";

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
  private readonly anthropicValidator: RequestValidator;

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
      chat: compileRequestValidator(OPENAI_CHAT_REQUEST_SCHEMA),
    };
    this.anthropicValidator = compileRequestValidator(ANTHROPIC_MESSAGES_REQUEST_SCHEMA);
  }

  async plan(type: JobType, raw: unknown, ctx: RequestContext): Promise<PlannedJob> {
    if (type === "chat") return this.planChat("openai", raw, ctx);
    const issues = this.validators[type](raw);
    if (issues !== undefined) throw invalidBody(issues);
    const body = raw as JobRequestBody;
    const model = this.model(body, type);

    const messages: ChatMessage[] = body.messages ?? [{ role: "user", content: body.prompt ?? "" }];
    if (messages.length > this.config.api.maxMessages) {
      throw fieldError("/messages", `has ${messages.length} messages; the limit is ${this.config.api.maxMessages}`);
    }
    const envelope = envelopeOf(model, ctx, body.max_tokens, body.temperature);

    let payload: Exclude<JobPayload, ChatPayload>;
    if (type === "structured") {
      const { schema, hash } = await this.schema(body, ctx.owner);
      payload = { type, ...envelope, messages, ...(body.system !== undefined && { system: body.system }), schema, schema_hash: hash };
    } else if (type === "unstructured") {
      payload = { type, ...envelope, messages, ...(body.system !== undefined && { system: body.system }) };
    } else {
      payload = { type: "conversation", ...envelope, messages };
    }
    this.checkContext(payload, model);

    const planned: PlannedJob = { type, model, payload };
    if (body.cache === true) planned.cacheKey = cacheKeyOf(payload);
    return planned;
  }

  /**
   * A `chat` job from an OpenAI Chat Completions body (also a `chat` batch item's body) or an Anthropic Messages
   * body: the same checks as the other job types (model, max_tokens, messages count, the schema of a JSON
   * format through the SchemaGuard, the context window), on the neutral request both parse into.
   */
  async planChat(dialect: ChatParts["dialect"], raw: unknown, ctx: RequestContext): Promise<PlannedJob & { parts: ChatParts }> {
    const issues = (dialect === "openai" ? this.validators.chat : this.anthropicValidator)(raw);
    if (issues !== undefined) throw invalidBody(issues);
    const parts = dialect === "openai" ? fromOpenAIChat(raw as OpenAIChatBody) : fromAnthropicMessages(raw as AnthropicMessagesBody);
    const model = this.model({ model: parts.model, ...(parts.maxTokens !== undefined && { max_tokens: parts.maxTokens }) }, "chat");
    if (parts.messages.length > this.config.api.maxMessages) {
      throw fieldError("/messages", `has ${parts.messages.length} messages; the limit is ${this.config.api.maxMessages}`);
    }
    const payload: ChatPayload = {
      type: "chat",
      ...envelopeOf(model, ctx, parts.maxTokens, parts.temperature),
      messages: parts.messages,
      ...(parts.topP !== undefined && { top_p: parts.topP }),
      ...(parts.stop !== undefined && { stop: parts.stop }),
      ...(parts.tools !== undefined && { tools: parts.tools }),
      ...(parts.toolChoice !== undefined && { tool_choice: parts.toolChoice }),
      ...(parts.stream && { stream: true }),
    };
    const f = parts.format;
    if (f.type === "json_object") payload.format = { type: "json_object" };
    else if (f.type === "json_schema") {
      const { schema, hash } = this.guard.check(f.schema);
      payload.format = { type: "json_schema", name: f.name, schema, strict: f.strict, schema_hash: hash };
    }
    this.checkTokens(turnsAsMessages(parts.messages), model, payload.max_tokens);
    return { type: "chat", model, payload, parts };
  }

  private model(body: Pick<JobRequestBody, "model" | "max_tokens">, type: JobType): ModelInfo {
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
  private checkContext(payload: Exclude<JobPayload, ChatPayload>, model: ModelInfo): void {
    let counted: ChatMessage[] = payload.messages;
    if (payload.type === "conversation") {
      counted = payload.messages.filter((m, i) => m.role === "system" || i === payload.messages.length - 1);
    } else if (payload.system !== undefined) {
      counted = [{ role: "system", content: payload.system }, ...payload.messages];
    }
    this.checkTokens(counted, model, payload.max_tokens);
  }

  private checkTokens(counted: ChatMessage[], model: ModelInfo, maxTokens: number | undefined): void {
    const limit = model.context_window - (maxTokens ?? 0);
    const { tokens, fits } = tokensWithin(counted, limit, model.tokenizer);
    if (!fits) {
      throw new AppError("CONTEXT_LENGTH_EXCEEDED", `the prompt is ${tokens} tokens; ${model.id} fits ${limit} with max_tokens ${maxTokens ?? 0}`, {
        details: { prompt_tokens: tokens, context_window: model.context_window, max_tokens: maxTokens ?? null, model: model.id },
      });
    }
  }
}

/** The fields every payload carries (JobEnvelope), set by the API. */
function envelopeOf(model: ModelInfo, ctx: RequestContext, maxTokens: number | undefined, temperature: number | undefined): JobEnvelope {
  return {
    model: model.id,
    provider: model.provider,
    owner: ctx.owner,
    request_id: ctx.requestId,
    created_at: ctx.now,
    ...(maxTokens !== undefined && { max_tokens: maxTokens }),
    ...(temperature !== undefined && { temperature }),
  };
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
