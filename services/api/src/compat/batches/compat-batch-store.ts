import type { RedisConnection } from "@llmq/shared";
import type { Keys } from "@llmq/shared";

/**
 * What a batch created through /v1 keeps beside llmq's own batch (which holds the items, counts and result
 * lines, batches/batch-store.ts): the dialect it was created in and the fields of that API's create call, in a
 * hash at `keys.compatBatch(id)`; and per owner and dialect a sorted set of batch ids by creation time, for the
 * list routes. Both expire after FILE_TTL_S. Invariant: a batch is listed and served under /v1 only in the
 * dialect that created it, and only to its owner; a batch of /api/v1 has no record here and is 404 under /v1.
 * The record and the index are in different hash slots on a Redis Cluster: the record is written first, then
 * the index (a listing serves only ids whose record it finds).
 */
export type CompatDialect = "openai" | "anthropic";

export interface CompatBatchRecord {
  owner: string;
  dialect: CompatDialect;
  created_at: number;
  /** OpenAI only. */
  input_file_id?: string;
  endpoint?: string;
  completion_window?: string;
  metadata?: Record<string, string>;
  /**
   * The generated files' sizes, once counted, per retry round (a finished batch's result lines change only
   * when POST /api/v1/batches/{id}/retry starts a new round).
   */
  bytes: Record<string, number>;
  /** Generated files deleted by DELETE /v1/files/{id}. */
  output_deleted?: boolean;
  error_deleted?: boolean;
}

export class CompatBatchStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {}

  async create(id: string, rec: Omit<CompatBatchRecord, "bytes">): Promise<void> {
    const key = this.keys.compatBatch(id);
    const index = this.keys.ownerCompatBatches(rec.owner, rec.dialect);
    const fields: Record<string, string | number> = { owner: rec.owner, dialect: rec.dialect, created_at: rec.created_at };
    if (rec.input_file_id !== undefined) fields.input_file_id = rec.input_file_id;
    if (rec.endpoint !== undefined) fields.endpoint = rec.endpoint;
    if (rec.completion_window !== undefined) fields.completion_window = rec.completion_window;
    if (rec.metadata !== undefined) fields.metadata = JSON.stringify(rec.metadata);
    const replies = await this.redis.multi().hset(key, fields).expire(key, this.ttlS).exec();
    const failed = replies?.find(([err]) => err !== null);
    if (replies === null || failed !== undefined) throw (failed?.[0] as Error | undefined) ?? new Error(`storing the /v1 record of ${id} was aborted`);
    await this.redis.zadd(index, rec.created_at, id);
    await this.redis.expire(index, this.ttlS);
  }

  /** The record, or undefined when there is none of this owner and dialect. */
  async get(id: string, owner: string, dialect: CompatDialect): Promise<CompatBatchRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.compatBatch(id));
    if (h.owner !== owner || h.dialect !== dialect) return undefined;
    const rec: CompatBatchRecord = { owner, dialect, created_at: Number(h.created_at), bytes: {} };
    for (const [k, v] of Object.entries(h)) if (k.startsWith("bytes:")) rec.bytes[k.slice(6)] = Number(v);
    if (h.input_file_id !== undefined) rec.input_file_id = h.input_file_id;
    if (h.endpoint !== undefined) rec.endpoint = h.endpoint;
    if (h.completion_window !== undefined) rec.completion_window = h.completion_window;
    if (h.metadata !== undefined) rec.metadata = JSON.parse(h.metadata) as Record<string, string>;
    if (h.output_deleted !== undefined) rec.output_deleted = true;
    if (h.error_deleted !== undefined) rec.error_deleted = true;
    return rec;
  }

  /** `bytes:<kind>:<round>`, or a file's deleted flag. */
  async setField(id: string, field: `bytes:${string}` | "output_deleted" | "error_deleted", value: number): Promise<void> {
    // HSET on an expired record would create a hash without a TTL: only set it where the record exists.
    const key = this.keys.compatBatch(id);
    if ((await this.redis.exists(key)) === 1) await this.redis.hset(key, field, value);
  }

  /** Batch ids of the owner, newest first: `count` of them from rank `start`. */
  page(owner: string, dialect: CompatDialect, start: number, count: number): Promise<string[]> {
    return count <= 0 ? Promise.resolve([]) : this.redis.zrevrange(this.keys.ownerCompatBatches(owner, dialect), start, start + count - 1);
  }

  /** The batch's rank in the newest-first index, or undefined when it is not there. */
  async rank(owner: string, dialect: CompatDialect, id: string): Promise<number | undefined> {
    return (await this.redis.zrevrank(this.keys.ownerCompatBatches(owner, dialect), id)) ?? undefined;
  }

  async drop(owner: string, dialect: CompatDialect, id: string): Promise<void> {
    await this.redis.zrem(this.keys.ownerCompatBatches(owner, dialect), id);
  }
}
