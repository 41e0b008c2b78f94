import { randomUUID } from "node:crypto";
import {
  AppError,
  BATCH_ID_PATTERN,
  BATCH_ITEM_SCHEMA,
  BATCH_REQUEST_SCHEMA,
  PROVIDERS,
  compileRequestValidator,
  decodeBatchEntry,
  encodeBatchEntry,
  jobTypeChar,
  jobTypeOfChar,
  parseBatchItemJobId,
  type BatchItemBody,
  type BatchList,
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
import type { JobView } from "../jobs/job-view.js";
import type { BatchMetrics } from "./batch-metrics.js";
import type { BatchBody } from "./batch-body.js";
import type { BatchStore } from "./batch-store.js";
import { batchView } from "./batch-view.js";

/**
 * Batches without req/res. Submitting checks EVERY item the way its single route would (the same
 * JobRequestPlanner: schema, model, max_tokens, messages, client schema or schema_id, context window) and a
 * repeated custom_id, before anything is stored; the first bad item refuses the whole batch, naming its index.
 * Then the items are charged to the key's rate limit (RATE_LIMIT_PER_MIN counts items, not requests), the batch
 * is stored (batch-store.ts: bounded steps, visible only when whole) and the 202 goes out: workers' feeders enqueue
 * the items as the queues drain, so the answer does not wait for thousands of BullMQ adds.
 */
export interface BatchContext {
  owner: string;
  requestId: string;
  /**
   * Which API a `chat` item's body speaks: OpenAI Chat Completions (the default, as /api/v1/batches takes it)
   * or Anthropic Messages (the items of POST /v1/messages/batches). Every other check is the same.
   */
  chatDialect?: "openai" | "anthropic";
}

export type ResultStatus = BatchResultLine["status"];
export const RESULT_STATUSES: readonly ResultStatus[] = ["completed", "failed", "cancelled"];

/** Result lines per LRANGE while streaming. */
export const RESULTS_CHUNK = 500;

/** The key's fixed-window limiter (JobStore.chargeItems). */
export interface ItemLimiter {
  chargeItems(owner: string, n: number, limitPerMin: number, now?: number): Promise<number>;
}

export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;
const CURSOR = /^(\d{1,15})\.(batch_[0-9a-f]{32})$/;
const ITEM_STATUS: Record<string, JobView["status"]> = { a: "active", c: "completed", f: "failed", x: "cancelled" };
const JOB_ID_IN_LINE = /,"job_id":"batch_[0-9a-f]{32}-(\d{1,6})/;

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
    private readonly limiter: ItemLimiter,
    private readonly metrics: BatchMetrics,
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
    const types: string[] = [];
    planned.forEach((outcome, index) => {
      if (outcome.status === "rejected") throw outcome.reason instanceof ItemError ? outcome.reason.error : outcome.reason;
      const { provider, customId, payload } = outcome.value;
      types.push(jobTypeChar(payload.type));
      (entries[provider] ??= []).push(encodeBatchEntry(index, customId, { ...payload, batch_id: id, custom_id: customId }));
    });

    await this.charge(ctx.owner, body.items.length, now);
    await this.store.create({ id, owner: ctx.owner, createdAt: now, total: body.items.length, metadata, entries, types: types.join("") });
    this.metrics.itemsSubmitted.inc(body.items.length);
    this.metrics.batchesSubmitted.inc();
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
    const meta = BATCH_ID_PATTERN.test(id) ? await this.store.meta(id) : undefined;
    if (meta === undefined || meta.owner !== owner) throw notFound(id);
    const prefix = status === undefined ? undefined : `{"status":"${status}"`;
    const store = this.store;
    // Until a batch is retried every item has one line; after, only each item's latest line is shown.
    const retried = meta.round !== undefined || meta.retrying !== undefined;
    return (async function* lines(): AsyncGenerator<string> {
      for (let from = 0; ; from += RESULTS_CHUNK) {
        const chunk = await store.results(id, from, from + RESULTS_CHUNK - 1);
        const latest = retried ? await latestOnly(store, id, chunk, from) : chunk;
        const kept = prefix === undefined ? latest : latest.filter((l) => l.startsWith(prefix));
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

  /**
   * POST /batches/{id}/retry: the failed items run again as new attempts (job ids `…-r<round>`), their counts
   * back from failed to queued; each keeps its last line until its new outcome replaces it in the results.
   */
  async retry(id: string, owner: string): Promise<BatchView> {
    if (!BATCH_ID_PATTERN.test(id) || (await this.store.owner(id)) !== owner) throw notFound(id);
    const { outcome, requeued } = await this.store.retry(id, randomUUID(), reentry);
    if (outcome === "gone") throw notFound(id);
    if (outcome === "running" || outcome === "busy") {
      throw new AppError("BATCH_NOT_FINISHED", outcome === "busy" ? `a retry of batch ${id} is being set up` : `batch ${id} still has items queued or running; retry it when it has finished`, { details: { batch_id: id } });
    }
    if (outcome === "cancelled") throw new AppError("NOTHING_TO_RETRY", `batch ${id} was cancelled; submit its failed items as a new batch`, { details: { batch_id: id } });
    if (outcome === "nothing") throw new AppError("NOTHING_TO_RETRY", `batch ${id} has no failed items to retry`, { details: { batch_id: id } });
    this.metrics.itemsRetried.inc(requeued);
    return this.get(id, owner);
  }

  /** GET /batches: the key's batches, newest first; `cursor` is the previous page's next_cursor. */
  async list(owner: string, limit: number, cursor: string | undefined): Promise<BatchList> {
    let after: { score: number; id: string } | undefined;
    if (cursor !== undefined) {
      const m = CURSOR.exec(cursor);
      if (m === null) throw new AppError("INVALID_REQUEST", "cursor must be a next_cursor from an earlier page", { details: { errors: [{ path: "?cursor", message: "is not a cursor" }] } });
      after = { score: Number(m[1]), id: m[2] as string };
    }
    const page = await this.store.list(owner, limit + 1, after);
    const shown = page.slice(0, limit);
    const last = shown.at(-1);
    return { object: "list", data: shown.map((b) => batchView(b.id, b.meta)), ...(page.length > limit && last !== undefined && { next_cursor: `${last.score}.${last.id}` }) };
  }

  /**
   * GET /jobs/{id} of a batch item (`batch_…-<index>[-r<round>]`): its latest outcome once final, else queued or
   * active from its batch's state. Undefined when it is not the owner's or does not exist.
   */
  async item(jobId: string, owner: string): Promise<JobView | undefined> {
    const ref = parseBatchItemJobId(jobId);
    if (ref === undefined) return undefined;
    const item = await this.store.item(ref.batchId, ref.index);
    if (item === undefined || item.owner !== owner || ref.index >= item.total || ref.round > item.round) return undefined;
    const type = jobTypeOfChar(item.type ?? "") ?? "unstructured";
    if (item.line !== undefined) {
      const line = JSON.parse(item.line) as BatchResultLine;
      const view: JobView = { id: line.job_id, type: line.result?.type ?? type, status: line.status, attempts: line.status === "cancelled" ? 0 : 1, created_at: item.createdAt };
      if (line.result !== undefined) view.result = line.result;
      if (line.error !== undefined) view.error = line.error;
      return { ...view, batch_id: ref.batchId, custom_id: line.custom_id };
    }
    const current = item.round > 0 ? `${ref.batchId}-${ref.index}-r${item.round}` : `${ref.batchId}-${ref.index}`;
    // A final state without a line pointer: a batch stored before items had one; its state is all there is.
    const status = ITEM_STATUS[item.state ?? ""] ?? "queued";
    return { id: current, type, status, attempts: status === "queued" ? 0 : 1, created_at: item.createdAt, batch_id: ref.batchId };
  }

  private async charge(owner: string, n: number, now: number): Promise<void> {
    const limit = this.config.api.rateLimitPerMin;
    if (limit <= 0) return;
    if (n > limit) {
      throw new AppError("BATCH_TOO_LARGE", `this key may submit ${limit} items a minute (RATE_LIMIT_PER_MIN); this batch has ${n}: split it`, { details: { max_items: limit, items: n, limit_per_min: limit } });
    }
    const retryAfter = await this.limiter.chargeItems(owner, n, limit, now);
    if (retryAfter === 0) return;
    this.metrics.rateLimited.inc();
    throw new AppError("RATE_LIMITED", `${n} more items would exceed ${limit} requests per minute for this key (batch items count one each)`, {
      details: { limit_per_min: limit, items: n, retry_after_s: retryAfter },
      headers: { "Retry-After": String(retryAfter) },
    });
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
      const rctx = { owner: ctx.owner, requestId: ctx.requestId, now };
      const plan = item.type === "chat" && ctx.chatDialect === "anthropic" ? await this.planner.planChat("anthropic", item.body, rctx) : await this.planner.plan(item.type, item.body, rctx);
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

/** A retry entry (`provider \n entry`) for round `round`: the same item, its payload marked with the round. */
function reentry(value: string, round: number): { provider: ProviderName; index: number; entry: string } | undefined {
  const cut = value.indexOf("\n");
  const provider = value.slice(0, cut) as ProviderName;
  if (cut < 0 || !PROVIDERS.includes(provider)) return undefined;
  try {
    const { index, customId, payload } = decodeBatchEntry(value.slice(cut + 1));
    return { provider, index, entry: encodeBatchEntry(index, customId, { ...payload, batch_round: round }) };
  } catch {
    return undefined;
  }
}

/** The lines of a chunk (read from position `from`) that are their item's latest: `lines` points at them. */
async function latestOnly(store: BatchStore, id: string, chunk: readonly string[], from: number): Promise<string[]> {
  const indexes = chunk.map((l) => Number(JOB_ID_IN_LINE.exec(l)?.[1] ?? -1));
  const positions = await store.linePositions(id, indexes.filter((i) => i >= 0));
  let k = 0;
  return chunk.filter((_, i) => (indexes[i] as number) < 0 || positions[k++] === from + i);
}

function notFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no batch ${id.slice(0, 64)}`);
}
