import { AppError, isFinalBatchStatus, type BatchView, type Config } from "@llmq/shared";
import type { BatchBody } from "../../batches/batch-body.js";
import type { BatchService } from "../../batches/batch-service.js";
import { GENERATED_FILE_ID, anthropicResultLine, generatedFileObject, openaiFileLine, uploadedFileObject } from "./batch-render.js";
import type { CompatBatchRecord, CompatBatchStore, CompatDialect } from "./compat-batch-store.js";
import { FILE_READ_CHUNK, type FileStore } from "./file-store.js";
import { planInputFile, type InputItem } from "./input-file.js";

/**
 * The OpenAI Batch API and Anthropic Message Batches over llmq's own batches: creating one checks every
 * request and stores ONE llmq batch of `chat` items (BatchService: the same planner, limits, feeder, counts and
 * result lines as POST /api/v1/batches), then a small record of the API's own fields (compat-batch-store.ts).
 * Output, error and results files are generated from the batch's result lines while they are read, chunk by
 * chunk, never held whole.
 */
export interface CompatContext {
  owner: string;
  requestId: string;
}

export interface Listed {
  views: Array<{ view: BatchView; rec: CompatBatchRecord }>;
  hasMore: boolean;
}

export interface FoundFile {
  /** A batch's output or error file, rather than an upload. */
  generated: boolean;
  object(): Promise<Record<string, unknown>>;
  content(): AsyncGenerator<Buffer | string>;
}

export const OPENAI_BATCH_ENDPOINT = "/v1/chat/completions";

export class CompatBatchService {
  constructor(
    private readonly config: Config,
    private readonly batches: BatchService,
    readonly files: FileStore,
    private readonly store: CompatBatchStore,
  ) {}

  /** POST /v1/batches: the body is already checked for its own fields (openai-batch-routes.ts). */
  async createOpenAI(input: { input_file_id: string; metadata?: Record<string, string> }, ctx: CompatContext): Promise<{ view: BatchView; rec: CompatBatchRecord }> {
    const file = await this.files.get(input.input_file_id, ctx.owner);
    if (file === undefined) throw new AppError("NOT_FOUND", `no file ${input.input_file_id.slice(0, 64)}`, { details: { errors: [{ path: "/input_file_id", message: "no such file" }] } });
    const items = await planInputFile(this.files, file.id, this.config.batch.maxItems, OPENAI_BATCH_ENDPOINT);
    const body: BatchBody = { format: "ndjson", items: items.map((i) => i.item), ...(input.metadata !== undefined && { rest: { metadata: input.metadata } }) };
    const view = await this.submit(body, ctx, "openai", (index, message) => lineLabel(items, index, message));
    const rec: CompatBatchRecord = { owner: ctx.owner, dialect: "openai", created_at: view.created_at, input_file_id: file.id, endpoint: OPENAI_BATCH_ENDPOINT, completion_window: "24h", bytes: {} };
    if (input.metadata !== undefined) rec.metadata = input.metadata;
    await this.record(view.id, rec);
    return { view, rec };
  }

  /** POST /v1/messages/batches: `{requests: [{custom_id, params}]}`, each params a Messages body. */
  async createAnthropic(body: BatchBody, ctx: CompatContext): Promise<BatchView> {
    if (body.format !== "json") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send the batch as application/json {requests: [{custom_id, params}]}");
    const extra = Object.keys(body.rest ?? {})[0];
    if (extra !== undefined) throw requestError(`/${extra}`, `${extra.slice(0, 40)} is not a field of a Message Batch: send {requests: [{custom_id, params}]}`);
    const items = body.items.map((raw, index) => anthropicItem(raw, index));
    const view = await this.submit({ format: "json", items }, ctx, "anthropic", (index, message) => `requests[${index}]: ${message}`);
    await this.record(view.id, { owner: ctx.owner, dialect: "anthropic", created_at: view.created_at });
    return view;
  }

  /**
   * Stores the /v1 record of a batch just stored. Should that fail (Redis gone between the two writes), the
   * batch is cancelled, best effort: a batch the caller was told failed, and could never see under /v1, must
   * not run and spend provider calls.
   */
  private async record(batchId: string, rec: Omit<CompatBatchRecord, "bytes">): Promise<void> {
    try {
      await this.store.create(batchId, rec);
    } catch (err) {
      await this.batches.cancel(batchId, rec.owner).catch(() => undefined);
      throw err;
    }
  }

  async get(batchId: string, owner: string, dialect: CompatDialect): Promise<{ view: BatchView; rec: CompatBatchRecord }> {
    const rec = await this.store.get(batchId, owner, dialect);
    if (rec === undefined) throw batchNotFound(batchId);
    return { view: await this.batches.get(batchId, owner), rec };
  }

  async cancel(batchId: string, owner: string, dialect: CompatDialect): Promise<{ view: BatchView; rec: CompatBatchRecord }> {
    const rec = await this.store.get(batchId, owner, dialect);
    if (rec === undefined) throw batchNotFound(batchId);
    return { view: await this.batches.cancel(batchId, owner), rec };
  }

  /**
   * Up to `limit` batches of the owner newest first, from rank `start` (the one after a cursor). Ids whose batch
   * expired are dropped from the index as they are met, and the page is filled from further down.
   */
  async list(owner: string, dialect: CompatDialect, start: number, limit: number): Promise<Listed> {
    const views: Listed["views"] = [];
    let from = start;
    while (views.length <= limit) {
      const ids = await this.store.page(owner, dialect, from, limit + 1 - views.length);
      if (ids.length === 0) break;
      // One round trip for the page: the reads go out together.
      const found = await Promise.all(
        ids.map((id) =>
          this.get(id, owner, dialect).catch((err: unknown) => {
            if (err instanceof AppError && err.code === "NOT_FOUND") return undefined;
            throw err;
          }),
        ),
      );
      let dropped = 0;
      for (const [i, batch] of found.entries()) {
        if (batch !== undefined) views.push(batch);
        else {
          await this.store.drop(owner, dialect, ids[i] as string);
          dropped++;
        }
      }
      from += ids.length - dropped;
    }
    return { views: views.slice(0, limit), hasMore: views.length > limit };
  }

  /** Where `id` sits in the owner's newest-first list (a cursor), or a 400 when it is not there. */
  async cursor(owner: string, dialect: CompatDialect, id: string, param: string): Promise<number> {
    const rank = await this.store.rank(owner, dialect, id);
    if (rank === undefined) throw requestError(`/${param}`, `${param} ${id.slice(0, 64)} is not one of your batches`);
    return rank;
  }

  /**
   * A file: its object and its content (uploaded: its bytes; generated: lines rendered from the batch's
   * results). A generated file's object needs its size, counted by one pass over the lines the first time it is
   * asked for (then kept): so it is built only when asked, never for the content alone.
   */
  async file(fileId: string, owner: string): Promise<FoundFile> {
    const generated = GENERATED_FILE_ID.exec(fileId);
    if (generated === null) {
      const meta = await this.files.get(fileId, owner);
      if (meta === undefined) throw fileNotFound(fileId);
      const files = this.files;
      const object = uploadedFileObject(meta, this.config.files.ttlS);
      return {
        generated: false,
        object: () => Promise.resolve(object),
        content: async function* bytes() {
          for (let from = 0; from < meta.bytes; from += FILE_READ_CHUNK) {
            const chunk = await files.read(meta.id, from);
            if (chunk.length === 0) return;
            yield chunk;
          }
        },
      };
    }
    const kind = generated[1] as "out" | "err";
    const batchId = `batch_${generated[2] as string}`;
    const { view, rec } = await this.get(batchId, owner, "openai").catch(() => {
      throw fileNotFound(fileId);
    });
    const present = kind === "out" ? view.counts.completed > 0 : view.counts.failed + view.counts.cancelled > 0;
    const deleted = kind === "out" ? rec.output_deleted : rec.error_deleted;
    if (!isFinalBatchStatus(view.status) || !present || deleted === true) throw fileNotFound(fileId);
    const content = () => this.generatedLines(batchId, owner, kind, view.created_at);
    const object = async (): Promise<Record<string, unknown>> => {
      const counted = `${kind}:${view.retries ?? 0}`;
      let bytes = rec.bytes[counted];
      if (bytes === undefined) {
        bytes = 0;
        for await (const text of content()) bytes += Buffer.byteLength(text);
        await this.store.setField(batchId, `bytes:${counted}`, bytes);
      }
      return generatedFileObject(batchId, kind, bytes, view.finished_at ?? view.created_at);
    };
    return { generated: true, object, content };
  }

  /** DELETE /v1/files/{id}: an uploaded file goes; a generated one is no longer served. */
  async deleteFile(fileId: string, owner: string): Promise<void> {
    const generated = GENERATED_FILE_ID.exec(fileId);
    if (generated === null) {
      if (!(await this.files.delete(fileId, owner))) throw fileNotFound(fileId);
      return;
    }
    await this.file(fileId, owner);
    await this.store.setField(`batch_${generated[2] as string}`, generated[1] === "out" ? "output_deleted" : "error_deleted", 1);
  }

  /** GET /v1/messages/batches/{id}/results: Anthropic's results lines, once the batch has ended. */
  async anthropicResults(batchId: string, owner: string): Promise<AsyncGenerator<string>> {
    const { view } = await this.get(batchId, owner, "anthropic");
    if (!isFinalBatchStatus(view.status)) throw new AppError("INVALID_REQUEST", "the batch has not ended yet: its results are ready once processing_status is ended");
    const chunks = await this.batches.results(batchId, owner, undefined);
    return (async function* lines() {
      for await (const chunk of chunks) yield `${chunk.split("\n").filter((l) => l !== "").map(anthropicResultLine).join("\n")}\n`;
    })();
  }

  private async *generatedLines(batchId: string, owner: string, kind: "out" | "err", createdMs: number): AsyncGenerator<string> {
    for await (const chunk of await this.batches.results(batchId, owner, kind === "out" ? "completed" : undefined)) {
      const lines = chunk
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => openaiFileLine(l, kind, createdMs))
        .filter((l) => l !== undefined);
      if (lines.length > 0) yield `${lines.join("\n")}\n`;
    }
  }

  /** BatchService.submit, its item errors retold in the asking API's terms (a line of the file, an index of requests). */
  private async submit(body: BatchBody, ctx: CompatContext, chatDialect: CompatDialect, label: (index: number, message: string) => string): Promise<BatchView> {
    try {
      return await this.batches.submit(body, { owner: ctx.owner, requestId: ctx.requestId, chatDialect });
    } catch (err) {
      const index = err instanceof AppError ? err.details?.index : undefined;
      if (!(err instanceof AppError) || typeof index !== "number") throw err;
      const details = { ...err.details };
      if (Array.isArray(details.errors)) {
        const base = `/requests/${index}/body`;
        const to = chatDialect === "openai" ? "/body" : `/requests/${index}/params`;
        details.errors = (details.errors as Array<{ path: string; message: string }>).map((e) => ({ ...e, path: e.path.startsWith(base) ? to + e.path.slice(base.length) : e.path }));
      }
      const reason = typeof details.reason === "string" ? details.reason : err.message;
      throw new AppError(err.code, label(index, reason), { details });
    }
  }
}

function lineLabel(items: InputItem[], index: number, message: string): string {
  const item = items[index];
  return `line ${item?.line ?? index + 1} (custom_id "${String(item?.item.custom_id ?? "").slice(0, 100)}"): ${message}`;
}

function anthropicItem(raw: unknown, index: number): { custom_id: unknown; type: "chat"; body: unknown } {
  const at = `/requests/${index}`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw requestError(at, `requests[${index}] must be an object {custom_id, params}`);
  const { custom_id, params, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw requestError(`${at}/${extra}`, `requests[${index}].${extra.slice(0, 40)} is not a field of a batch request: send {custom_id, params}`);
  if (typeof custom_id !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(custom_id)) throw requestError(`${at}/custom_id`, `requests[${index}].custom_id must be 1 to 64 letters, digits, _ or -`);
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw requestError(`${at}/params`, `requests[${index}].params must be a Messages request body`);
  if ((params as { stream?: unknown }).stream === true) throw requestError(`${at}/params/stream`, `requests[${index}].params.stream cannot be true in a batch`);
  return { custom_id, type: "chat", body: params };
}

function requestError(path: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", message, { details: { errors: [{ path, message }] } });
}

function batchNotFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no batch ${id.slice(0, 80)}`);
}

function fileNotFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no file ${id.slice(0, 80)}`);
}
