import type { ChainableCommander, Redis } from "ioredis";
import {
  BATCH_CANCELLED_ERROR,
  BATCH_SCRIPTS,
  PROVIDERS,
  activeBatchesKey,
  batchKeySet,
  batchWakeChannel,
  runningBatchesKey,
  type Keys,
  type ProviderName,
} from "@llmq/shared";

/**
 * A batch's Redis state (layout: @llmq/shared batch-keys.ts). Invariant: a batch is stored in ONE MULTI
 * (meta hash with its counts, every pending entry, its place in the feeders' sets and the unfinished set, the
 * wake message). Redis
 * applies a MULTI whole or not at all: a connection that dies before EXEC leaves no key, so there is never a
 * batch whose counts disagree with the items stored. After that, only the Lua scripts change counts.
 */
export interface NewBatch {
  id: string;
  owner: string;
  createdAt: number;
  total: number;
  metadata: Record<string, string> | undefined;
  /** Encoded entries (encodeBatchEntry) per provider, in item order. */
  entries: Partial<Record<ProviderName, string[]>>;
}

export type BatchMeta = Record<string, string>;

/** RPUSH arguments per command: large enough to be few commands, small enough for Redis's argument buffers. */
const PUSH_CHUNK = 1000;

export class BatchStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Queues the whole batch into `multi` (the MULTI is exec'd by `create`; tests drive it by hand). */
  queueCreate(multi: ChainableCommander, batch: NewBatch): ChainableCommander {
    const set = batchKeySet(this.keys, batch.id);
    const providers = PROVIDERS.filter((p) => (batch.entries[p]?.length ?? 0) > 0);
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
    for (const provider of providers) {
      const entries = batch.entries[provider] ?? [];
      for (let i = 0; i < entries.length; i += PUSH_CHUNK) multi.rpush(set.pending[provider], ...entries.slice(i, i + PUSH_CHUNK));
      multi.zadd(activeBatchesKey(this.keys, provider), batch.createdAt, batch.id);
    }
    multi.zadd(runningBatchesKey(this.keys), batch.createdAt, batch.id);
    multi.publish(batchWakeChannel(this.keys), providers.join(","));
    return multi;
  }

  async create(batch: NewBatch): Promise<void> {
    const replies = await this.queueCreate(this.redis.multi(), batch).exec();
    if (replies === null) throw new Error(`storing batch ${batch.id} was aborted`);
    const failed = replies.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
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

  /** Runs the cancel script: the number of items cancelled now, -1 no batch, -2 already finished. */
  async cancel(batchId: string, ttlS: number): Promise<number> {
    const set = batchKeySet(this.keys, batchId);
    return Number(await BATCH_SCRIPTS.cancel.run(this.redis, set.scriptKeys, [Date.now(), ttlS, batchId, JSON.stringify(BATCH_CANCELLED_ERROR)]));
  }
}
