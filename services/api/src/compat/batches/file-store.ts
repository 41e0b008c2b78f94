import type { RedisConnection } from "@llmq/shared";
import type { Keys } from "@llmq/shared";

/**
 * Files uploaded to POST /v1/files, kept in Redis (the only store llmq has; no disk, so any API process can
 * serve any file). Per file: a meta hash at `keys.file(id)` and the bytes as one string at
 * `keys.filePart(id, "content")`, both with the FILE_TTL_S expiry; per owner, a sorted set of file ids by
 * creation time for listing. Invariants:
 * - an upload is appended to a staging key (`filePart(id, "upload")`, expiring within the hour) in chunks as it
 *   arrives, and only becomes a file, meta and content together in one MULTI, once it was read whole and
 *   checked: a refused or broken upload never shows up as a file. A file's keys share its hash slot
 *   (`{file id}`); the owner's index is a key of its own (another slot on a Redis Cluster), so the file enters
 *   it just after that MULTI and leaves it just after the file is deleted; a listing drops ids whose file is gone;
 * - a file belongs to the key that uploaded it: another key's id is 404, like an id that never existed;
 * - the size is bounded by FILE_MAX_BYTES (a Redis string holds up to 512 MB; the default is 64 MiB).
 */
export interface FileMeta {
  id: string;
  owner: string;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
}

/** An abandoned upload's staging key goes away on its own. */
const STAGING_TTL_S = 3600;
/** GETRANGE per read while streaming a file out or parsing it. */
export const FILE_READ_CHUNK = 1024 * 1024;

export const UPLOADED_FILE_ID = /^file-[0-9a-f]{32}$/;

export class FileStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {}

  /** Appends a chunk of an upload in progress. */
  async append(id: string, chunk: Buffer): Promise<void> {
    const staging = this.keys.filePart(id, "upload");
    await this.redis.multi().append(staging, chunk).expire(staging, STAGING_TTL_S).exec();
  }

  /** Turns a whole, checked upload into a file. */
  async commit(meta: FileMeta): Promise<void> {
    const content = this.keys.filePart(meta.id, "content");
    const index = this.keys.ownerFiles(meta.owner);
    const replies = await this.redis
      .multi()
      .rename(this.keys.filePart(meta.id, "upload"), content)
      .expire(content, this.ttlS)
      .hset(this.keys.file(meta.id), { owner: meta.owner, bytes: meta.bytes, created_at: meta.created_at, filename: meta.filename, purpose: meta.purpose })
      .expire(this.keys.file(meta.id), this.ttlS)
      .exec();
    const failed = replies?.find(([err]) => err !== null);
    if (replies === null || failed !== undefined) throw (failed?.[0] as Error | undefined) ?? new Error(`storing file ${meta.id} was aborted`);
    await this.redis.zadd(index, meta.created_at, meta.id);
    await this.redis.expire(index, this.ttlS);
  }

  async discard(id: string): Promise<void> {
    await this.redis.del(this.keys.filePart(id, "upload"));
  }

  /** The file's meta, or undefined when it does not exist, expired, or belongs to another owner. */
  async get(id: string, owner: string): Promise<FileMeta | undefined> {
    if (!UPLOADED_FILE_ID.test(id)) return undefined;
    const h = await this.redis.hgetall(this.keys.file(id));
    if (h.owner !== owner) return undefined;
    return { id, owner, bytes: Number(h.bytes), created_at: Number(h.created_at), filename: h.filename ?? "", purpose: h.purpose ?? "batch" };
  }

  /** Bytes `from`..`from + FILE_READ_CHUNK - 1` of the content; shorter at the end. */
  read(id: string, from: number): Promise<Buffer> {
    return this.redis.getrangeBuffer(this.keys.filePart(id, "content"), from, from + FILE_READ_CHUNK - 1);
  }

  /**
   * The owner's files, newest first, after the `after` id (undefined: no such id in the index). Ids whose file
   * expired are dropped from the index as they are met.
   */
  async list(owner: string, after: string | undefined, limit: number): Promise<{ files: FileMeta[]; hasMore: boolean } | undefined> {
    const index = this.keys.ownerFiles(owner);
    let start = 0;
    if (after !== undefined) {
      const rank = await this.redis.zrevrank(index, after);
      if (rank === null) return undefined;
      start = rank + 1;
    }
    const found: FileMeta[] = [];
    while (found.length <= limit) {
      const ids = await this.redis.zrevrange(index, start, start + limit);
      if (ids.length === 0) break;
      // One round trip for the page: the reads go out together.
      const metas = await Promise.all(ids.map((id) => this.get(id, owner)));
      let dropped = 0;
      for (const [i, meta] of metas.entries()) {
        if (meta !== undefined) found.push(meta);
        else dropped += await this.redis.zrem(index, ids[i] as string);
      }
      start += ids.length - dropped;
    }
    return { files: found.slice(0, limit), hasMore: found.length > limit };
  }

  /** Deletes the file; false when there was none of this owner's. */
  async delete(id: string, owner: string): Promise<boolean> {
    if ((await this.get(id, owner)) === undefined) return false;
    await this.redis.del(this.keys.file(id), this.keys.filePart(id, "content"));
    await this.redis.zrem(this.keys.ownerFiles(owner), id);
    return true;
  }
}
