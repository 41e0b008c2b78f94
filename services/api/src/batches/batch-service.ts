import { randomUUID } from "node:crypto";
import {
  AppError,
  BATCH_ID_PATTERN,
  BATCH_ITEM_SCHEMA,
  BATCH_REQUEST_SCHEMA,
  compileRequestValidator,
  encodeBatchEntry,
  type BatchItemBody,
  type BatchResultLine,
  type BatchView,
  type Config,
  type JobPayload,
  type ProviderName,
  type RequestValidator,
  type SchemaIssue,
} from "@llmq/shared";
import { invalidBody } from "../http/body.js";
import type { JobRequestPlanner } from "../jobs/job-request.js";
import type { BatchBody } from "./batch-body.js";
import type { BatchStore } from "./batch-store.js";
import { batchView } from "./batch-view.js";

/**
 * Batches without req/res. Submitting checks EVERY item the way its single route would (the same
 * JobRequestPlanner: schema, model, max_tokens, messages, client schema or schema_id, context window) and a
 * repeated custom_id, before anything is stored; the first bad item refuses the whole batch, naming its index.
 * Then the batch is stored in one MULTI (batch-store.ts) and the 202 goes out: workers' feeders enqueue the
 * items as the queues drain, so the answer does not wait for thousands of BullMQ adds.
 */
export interface BatchContext {
  owner: string;
  requestId: string;
}

export type ResultStatus = BatchResultLine["status"];
export const RESULT_STATUSES: readonly ResultStatus[] = ["completed", "failed", "cancelled"];

/** Result lines per LRANGE while streaming. */
export const RESULTS_CHUNK = 500;

class ItemError extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

export class BatchService {
  private readonly validateItem: RequestValidator;
  private readonly validateRest: RequestValidator;

  constructor(
    private readonly config: Config,
    private readonly store: BatchStore,
    private readonly planner: JobRequestPlanner,
  ) {
    // The item's envelope only: its body is checked by the planner against the same route schema that
    // BATCH_ITEM_SCHEMA's allOf names (validating it twice cost a third of a 10,000-item submit).
    const { allOf: _bodies, ...envelope } = BATCH_ITEM_SCHEMA;
    this.validateItem = compileRequestValidator(envelope);
    // The JSON body minus `requests` (read apart, item by item): only `metadata`, as the shared schema has it.
    this.validateRest = compileRequestValidator({ type: "object", additionalProperties: false, properties: { metadata: BATCH_REQUEST_SCHEMA.properties.metadata } });
  }

  async submit(body: BatchBody, ctx: BatchContext): Promise<BatchView> {
    const now = Date.now();
    const metadata = this.metadata(body);
    if (body.items.length === 0) throw invalidBody([{ path: "/requests", message: "must NOT have fewer than 1 items" }]);
    const id = `batch_${randomUUID().replaceAll("-", "")}`;

    // The synchronous part of each call (shape, duplicate custom_id) runs in item order; plans that read a
    // registered schema wait on Redis together. The first bad item by index is the one reported.
    const seen = new Map<string, number>();
    const planned = await Promise.allSettled(body.items.map((raw, i) => this.planItem(raw, i, seen, ctx, now)));
    const entries: Partial<Record<ProviderName, string[]>> = {};
    planned.forEach((outcome, index) => {
      if (outcome.status === "rejected") throw outcome.reason instanceof ItemError ? outcome.reason.error : outcome.reason;
      const { provider, customId, payload } = outcome.value;
      (entries[provider] ??= []).push(encodeBatchEntry(index, customId, { ...payload, batch_id: id, custom_id: customId }));
    });

    await this.store.create({ id, owner: ctx.owner, createdAt: now, total: body.items.length, metadata, entries });
    return {
      id,
      object: "batch",
      status: "queued",
      counts: { total: body.items.length, queued: body.items.length, active: 0, completed: 0, failed: 0, cancelled: 0 },
      created_at: now,
      ...(metadata !== undefined && { metadata }),
    };
  }

  async get(id: string, owner: string): Promise<BatchView> {
    const meta = BATCH_ID_PATTERN.test(id) ? await this.store.meta(id) : undefined;
    if (meta === undefined || meta.owner !== owner) throw notFound(id);
    return batchView(id, meta);
  }

  /**
   * The result lines, `RESULTS_CHUNK` at a time (each yield is one chunk of NDJSON text). Ownership is checked
   * before the first yield, so a 404 is still an ordinary error answer. A batch still running streams the lines
   * so far: the list only grows, so reading it by index is consistent.
   */
  async results(id: string, owner: string, status: ResultStatus | undefined): Promise<AsyncGenerator<string>> {
    if (!BATCH_ID_PATTERN.test(id) || (await this.store.owner(id)) !== owner) throw notFound(id);
    const prefix = status === undefined ? undefined : `{"status":"${status}"`;
    const store = this.store;
    return (async function* lines(): AsyncGenerator<string> {
      for (let from = 0; ; from += RESULTS_CHUNK) {
        const chunk = await store.results(id, from, from + RESULTS_CHUNK - 1);
        const kept = prefix === undefined ? chunk : chunk.filter((l) => l.startsWith(prefix));
        if (kept.length > 0) yield `${kept.join("\n")}\n`;
        if (chunk.length < RESULTS_CHUNK) return;
      }
    })();
  }

  /** Cancels the items not started yet; running ones finish. Cancelling a finished batch changes nothing. */
  async cancel(id: string, owner: string): Promise<BatchView> {
    if (!BATCH_ID_PATTERN.test(id) || (await this.store.owner(id)) !== owner) throw notFound(id);
    if ((await this.store.cancel(id, this.config.jobs.resultTtlS)) === -1) throw notFound(id);
    return this.get(id, owner);
  }

  private metadata(body: BatchBody): Record<string, string> | undefined {
    if (body.rest === undefined) return undefined;
    const issues = this.validateRest(body.rest);
    if (issues !== undefined) throw invalidBody(issues);
    return body.rest.metadata as Record<string, string> | undefined;
  }

  private async planItem(raw: unknown, index: number, seen: Map<string, number>, ctx: BatchContext, now: number): Promise<{ provider: ProviderName; customId: string; payload: JobPayload }> {
    const issues = this.validateItem(raw);
    const customId = typeof (raw as { custom_id?: unknown } | null)?.custom_id === "string" ? (raw as { custom_id: string }).custom_id : undefined;
    if (issues !== undefined) {
      // An if/then branch adds a line saying only that it failed; the lines under it say why.
      const errors = issues.filter((i) => !/"then" schema/.test(i.message));
      const message = `the item is invalid: ${errors[0]?.path || "item"} ${errors[0]?.message ?? "is invalid"}`;
      throw itemError(index, customId, new AppError("INVALID_REQUEST", message, { details: { errors } }), `/requests/${index}`);
    }
    const item = raw as BatchItemBody;
    const first = seen.get(item.custom_id);
    if (first !== undefined) {
      throw itemError(index, customId, new AppError("INVALID_REQUEST", `custom_id "${item.custom_id.slice(0, 100)}" is also used by item ${first}`, { details: { errors: [{ path: "/custom_id", message: `duplicates item ${first}` }], duplicate_of: first } }), `/requests/${index}`);
    }
    seen.set(item.custom_id, index);
    try {
      const plan = await this.planner.plan(item.type, item.body, { owner: ctx.owner, requestId: ctx.requestId, now });
      const payload = plan.cacheKey === undefined ? plan.payload : { ...plan.payload, cache_key: plan.cacheKey };
      return { provider: plan.model.provider, customId: item.custom_id, payload };
    } catch (err) {
      if (err instanceof AppError) throw itemError(index, customId, err, `/requests/${index}/body`);
      throw err;
    }
  }
}

/**
 * An item's refusal as the batch's: a 400 of the item (unknown model, bad schema, too long, …) becomes
 * INVALID_REQUEST naming the item, its own code kept in `details.code`; other statuses (503 provider not
 * configured) keep their code. Field paths are made absolute in the batch body.
 */
function itemError(index: number, customId: string | undefined, err: AppError, base: string): ItemError {
  const details: Record<string, unknown> = { index, custom_id: customId ?? null, code: err.code, reason: err.message };
  for (const [k, v] of Object.entries(err.details ?? {})) {
    details[k] = k === "errors" && Array.isArray(v) ? (v as SchemaIssue[]).map((e) => ({ ...e, path: `${base}${e.path}` })) : v;
  }
  const code = err.status === 400 ? "INVALID_REQUEST" : err.code;
  const label = customId === undefined ? `item ${index}` : `item ${index} (custom_id "${customId.slice(0, 100)}")`;
  return new ItemError(new AppError(code, `${label}: ${err.message}`, { details }));
}

function notFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no batch ${id.slice(0, 64)}`);
}
