import type { RedisConnection } from "@llmq/shared";
import {
  BATCH_CANCELLED_ERROR,
  BATCH_SCRIPTS,
  PROVIDERS,
  announceBatch,
  batchKeySet,
  ownerBatchesKey,
  retireBatch,
  runningBatchesKey,
  type Keys,
  type ProviderName,
} from "@llmq/shared";

/**
 * A batch's Redis state (layout: @llmq/shared batch-keys.ts). Invariant: a batch is either wholly stored or not
 * visible. Its items are written first, in bounded commands (RPUSH of PUSH_CHUNK entries), under keys nothing
 * reads until the meta hash exists and the batch is in the feeders' sets; those staged keys carry STAGE_TTL_S,
 * so an API that dies half-way leaves nothing behind for long. Then one small MULTI on the batch's own keys (meta
 * hash with its counts, TTLs lifted: all in the batch's hash slot), so there is never a visible batch whose counts
 * disagree with the items stored, and no step holds Redis for the whole batch. Only then does the batch enter
 * the feeders' sets and the owner's list (keys of their own, other slots on a cluster): a feeder never finds a
 * batch whose items are not there. Its id goes into the unfinished set first, so an API that dies between the
 * MULTI and announcing it leaves a batch the reconciler finds and announces. After that, only the Lua scripts
 * change counts.
 */
export interface NewBatch {
  id: string;
  owner: string;
  createdAt: number;
  total: number;
  metadata: Record<string, string> | undefined;
  /** Encoded entries (encodeBatchEntry) per provider, in item order. */
  entries: Partial<Record<ProviderName, string[]>>;
  /** One character per item, in item order: its job type (jobTypeChar). */
  types: string;
}

export type BatchMeta = Record<string, string>;

/** Entries per RPUSH (and characters per APPEND): each command stays short whatever the batch's size. */
export const PUSH_CHUNK = 1000;
/** Commands in flight per round trip while staging. */
const STAGE_PIPELINE = 8;
/** How long staged items live if their batch is never made visible. */
export const STAGE_TTL_S = 3600;
/** A retry claim older than this was left by an API that died: another retry may take over. */
const RETRY_STALE_MS = 60_000;
/** Retry entries per HSCAN step. */
const RETRY_CHUNK = 500;

/** An item's state as stored: its job type, its state, and its latest result line. */
export interface ItemRecord {
  owner: string;
  total: number;
  createdAt: number;
  round: number;
  type: string | undefined;
  state: string | undefined;
  line: string | undefined;
}

export class BatchStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
  ) {}

  /** Writes the items under the batch's keys, invisible to every reader (no meta hash, in no set). */
  async stage(batch: NewBatch): Promise<void> {
    const set = batchKeySet(this.keys, batch.id);
    const commands: [string, (string | number)[]][] = [];
    for (const provider of PROVIDERS) {
      const entries = batch.entries[provider] ?? [];
      for (let i = 0; i < entries.length; i += PUSH_CHUNK) commands.push(["rpush", [set.pending[provider], ...entries.slice(i, i + PUSH_CHUNK)]]);
      if (entries.length > 0) commands.push(["expire", [set.pending[provider], STAGE_TTL_S]]);
    }
    for (let i = 0; i < batch.types.length; i += PUSH_CHUNK * 10) commands.push(["append", [set.types, batch.types.slice(i, i + PUSH_CHUNK * 10)]]);
    commands.push(["expire", [set.types, STAGE_TTL_S]]);
    for (let i = 0; i < commands.length; i += STAGE_PIPELINE) {
      const pipe = this.redis.pipeline();
      for (const [name, args] of commands.slice(i, i + STAGE_PIPELINE)) pipe.call(name, ...args);
      throwFirst(await pipe.exec(), batch.id);
    }
  }

  /** Makes a staged batch visible in one small MULTI (O(providers), not O(items)). */
  async commit(batch: NewBatch): Promise<void> {
    const set = batchKeySet(this.keys, batch.id);
    const providers = PROVIDERS.filter((p) => (batch.entries[p]?.length ?? 0) > 0);
    const multi = this.redis.multi();
    multi.hset(set.meta, {
      owner: batch.owner,
      status: "queued",
      total: batch.total,
      queued: batch.total,
      active: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      created_at: batch.createdAt,
      providers: providers.join(","),
      ...(batch.metadata !== undefined && { metadata: JSON.stringify(batch.metadata) }),
    });
    multi.persist(set.types);
    for (const provider of providers) multi.persist(set.pending[provider]);
    await this.redis.zadd(runningBatchesKey(this.keys), batch.createdAt, batch.id);
    throwFirst(await multi.exec(), batch.id);
    await Promise.all([this.redis.zadd(ownerBatchesKey(this.keys, batch.owner), batch.createdAt, batch.id), announceBatch(this.redis, this.keys, batch.id, batch.createdAt, providers)]);
  }

  /** stage + commit; on failure the staged keys are removed (best effort: they expire anyway). */
  async create(batch: NewBatch): Promise<void> {
    try {
      await this.stage(batch);
      await this.commit(batch);
    } catch (err) {
      // The client hears 503: nothing of the batch may stay behind, visible or fed.
      const set = batchKeySet(this.keys, batch.id);
      await Promise.allSettled([
        retireBatch(this.redis, this.keys, batch.id, true),
        this.redis.zrem(ownerBatchesKey(this.keys, batch.owner), batch.id),
        this.redis.unlink(...set.scriptKeys),
      ]);
      throw err;
    }
  }

  /** The meta hash; undefined when there is no such batch (or it expired). O(1) in the batch's size. */
  async meta(batchId: string): Promise<BatchMeta | undefined> {
    const meta = await this.redis.hgetall(this.keys.batch(batchId));
    return meta.owner === undefined ? undefined : meta;
  }

  async owner(batchId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.batch(batchId), "owner")) ?? undefined;
  }

  /** Result lines `from`..`to` (inclusive), in finishing order. */
  results(batchId: string, from: number, to: number): Promise<string[]> {
    return this.redis.lrange(this.keys.batchPart(batchId, "results"), from, to);
  }

  /** Where each item's latest line is (item index -> position in the results list). */
  async linePositions(batchId: string, indexes: readonly number[]): Promise<(number | undefined)[]> {
    if (indexes.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.batchPart(batchId, "lines"), ...indexes.map(String));
    return raw.map((v) => (v === null ? undefined : Number(v)));
  }

  /** Runs the cancel script: the number of items cancelled now, -1 no batch, -2 already finished. */
  async cancel(batchId: string, ttlS: number): Promise<number> {
    const set = batchKeySet(this.keys, batchId);
    const n = Number(await BATCH_SCRIPTS.cancel.run(this.redis, set.scriptKeys, [Date.now(), ttlS, batchId, JSON.stringify(BATCH_CANCELLED_ERROR)]));
    if (n >= 0) await retireBatch(this.redis, this.keys, batchId, (await this.redis.hexists(set.meta, "finished_at")) === 1);
    return n;
  }

  /**
   * One page of the owner's batches, newest first, after the cursor position (created_at, id) exclusive.
   * Batches that expired leave the owner's set as they are met.
   */
  async list(owner: string, limit: number, after: { score: number; id: string } | undefined): Promise<{ id: string; score: number; meta: BatchMeta }[]> {
    const index = ownerBatchesKey(this.keys, owner);
    const out: { id: string; score: number; meta: BatchMeta }[] = [];
    let offset = 0;
    const max = after === undefined ? "+inf" : String(after.score);
    while (out.length < limit) {
      const want = limit - out.length + 1;
      const flat = await this.redis.zrevrangebyscore(index, max, "-inf", "WITHSCORES", "LIMIT", offset, want);
      if (flat.length === 0) break;
      offset += flat.length / 2;
      const page: { id: string; score: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const id = flat[i] as string;
        const score = Number(flat[i + 1]);
        // Same created_at as the cursor: members come in reverse id order, so those >= the cursor's id were shown.
        if (after !== undefined && score === after.score && id >= after.id) continue;
        page.push({ id, score });
      }
      // One command per batch (each batch is in a slot of its own on a cluster), sent together.
      const metas = await Promise.all(page.map((p) => this.redis.hgetall(this.keys.batch(p.id))));
      const gone: string[] = [];
      page.forEach((p, i) => {
        const meta = metas[i] as BatchMeta | undefined;
        if (meta?.owner === undefined) gone.push(p.id);
        else if (out.length < limit) out.push({ ...p, meta });
      });
      if (gone.length > 0) {
        await this.redis.zrem(index, ...gone);
        // The removed entries no longer take places in the set: the next read starts that much earlier.
        offset -= gone.length;
      }
      if (flat.length / 2 < want) break;
    }
    return out;
  }

  /** Everything GET /jobs/{id} needs about item `index`, in two round trips at most. */
  async item(batchId: string, index: number): Promise<ItemRecord | undefined> {
    const set = batchKeySet(this.keys, batchId);
    // Four commands sent together, not a pipeline: a pipeline on this connection copies BullMQ's scripts (runtime.ts).
    const [meta, stateReply, pos, typeReply] = await Promise.all([
      this.redis.hmget(set.meta, "owner", "total", "created_at", "round"),
      this.redis.hget(set.state, String(index)),
      this.redis.hget(set.lines, String(index)),
      this.redis.getrange(set.types, index, index),
    ]);
    const [owner, total, createdAt, round] = meta;
    if (owner === null || owner === undefined) return undefined;
    const state = stateReply ?? undefined;
    const type = typeReply || undefined;
    const final = state === "c" || state === "f" || state === "x";
    const line = final && pos !== null && pos !== undefined ? ((await this.redis.lindex(set.results, Number(pos))) ?? undefined) : undefined;
    return { owner, total: Number(total), createdAt: Number(createdAt), round: Number(round ?? 0), type, state, line };
  }

  /**
   * A retry, in three steps: claim the finished batch (script), push its failed items' entries back into the
   * pending lists and clear their states in chunks (invisible: the batch is in no feeder's set yet), then
   * reopen it in one script that moves the counts. `reentry` rewrites each entry for the new round.
   * Returns the claim's outcome, and the number of items put back when it is 'ok'.
   */
  async retry(batchId: string, token: string, reentry: (entry: string, round: number) => { provider: ProviderName; index: number; entry: string } | undefined): Promise<{ outcome: string; requeued: number }> {
    const set = batchKeySet(this.keys, batchId);
    const now = Date.now();
    const outcome = String(await BATCH_SCRIPTS.beginRetry.run(this.redis, set.scriptKeys, [token, now, RETRY_STALE_MS]));
    if (outcome !== "ok") return { outcome, requeued: 0 };
    const round = Number((await this.redis.hget(set.meta, "round")) ?? 0) + 1;
    const seen = new Set<number>();
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(set.retry, cursor, "COUNT", RETRY_CHUNK);
      cursor = next;
      const pipe = this.redis.pipeline();
      const indexes: string[] = [];
      for (let i = 1; i < flat.length; i += 2) {
        const item = reentry(flat[i] as string, round);
        // HSCAN may return an entry twice; an item is put back once.
        if (item === undefined || seen.has(item.index)) continue;
        seen.add(item.index);
        indexes.push(String(item.index));
        pipe.rpush(set.pending[item.provider], item.entry);
      }
      if (indexes.length > 0) pipe.hdel(set.state, ...indexes);
      throwFirst(await pipe.exec(), batchId);
    } while (cursor !== "0");
    // In the unfinished set before the batch reopens: an API that dies right after leaves it where the
    // reconciler announces it to the feeders.
    const createdAt = Number(await this.redis.hget(set.meta, "created_at"));
    await this.redis.zadd(runningBatchesKey(this.keys), createdAt, batchId);
    const committed = String(await BATCH_SCRIPTS.commitRetry.run(this.redis, set.scriptKeys, [token, seen.size, Date.now(), round, batchId, ...PROVIDERS]));
    if (!committed.startsWith("ok:")) return { outcome: "busy", requeued: seen.size };
    const woken = committed.slice(3).split(",").filter((p): p is ProviderName => (PROVIDERS as readonly string[]).includes(p));
    await announceBatch(this.redis, this.keys, batchId, createdAt, woken);
    return { outcome: "ok", requeued: seen.size };
  }

  /** Unfinished batches of every key (the metrics' batches-active gauge). */
  runningCount(): Promise<number> {
    return this.redis.zcard(runningBatchesKey(this.keys));
  }
}

function throwFirst(replies: [Error | null, unknown][] | null, batchId: string): void {
  if (replies === null) throw new Error(`storing batch ${batchId} was aborted`);
  const failed = replies.find(([err]) => err !== null);
  if (failed !== undefined) throw failed[0] as Error;
}
