import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import type { RedisConnection } from "@llmq/shared";
import {
  BATCH_GROUP_JOB,
  BATCH_JOB_PRIORITY,
  BATCH_SCRIPTS,
  QUEUE_NAMES,
  activeBatchesKey,
  batchGroupJobId,
  batchItemJobId,
  batchKeySet,
  batchResultLine,
  batchWakeChannel,
  closeQuietly,
  decodeBatchEntry,
  duplicateConnection,
  defaultJobOptions,
  feedLockKey,
  type BatchGroupData,
  type BatchGroupItem,
  type Config,
  type JobPayload,
  type JobType,
  type Keys,
  type Logger,
  type ProviderName,
} from "@llmq/shared";
import { storeFinish } from "./batch-item.js";
import { reconcileBatches } from "./reconciler.js";

/**
 * Moves batch items from their batch's pending lists into the provider queues, a chunk at a time, while a
 * queue is shallow: batches never flood Redis with BullMQ jobs, a cancel finds most items still pending, and
 * interactive jobs (no priority) always sit ahead of the few batch jobs (priority BATCH_JOB_PRIORITY) there are.
 *
 * Invariant: an item is never lost between its pending list and BullMQ. A chunk is read (LRANGE), added with
 * deterministic job ids (addBulk), and only then trimmed, by a script that trims only if the chunk is still at
 * the list's head (TRIM_FED_LUA): never twice, whoever holds the provider's lock. A feeder that dies (or
 * stalls past its lock) between add and trim leaves the chunk in the list: the next feeder adds the same ids
 * again, which BullMQ ignores for jobs it still has, and the item-state script skips for items that already
 * ran. Duplicates are possible; losses are not. The lock (renewed after every chunk) keeps two feeders from
 * feeding one provider at once; the pending list and the lock are in different slots on a cluster, so no
 * script touches both.
 *
 * Batch jobs: the items of a chunk go into BullMQ as jobs of up to `batch.jobItems` (K) consecutive items each
 * (groupJobs; a worker runs a job's items one after another, batch-group.ts); a job's id is deterministic in its
 * items (batchGroupJobId). Shares, room and the low-water mark are counted in items, and a waiting job counts as
 * K items (an estimate: a job may hold fewer); the default mark keeps about two jobs per slot.
 *
 * Fairness: what a pass adds is shared equally between the API keys with batches waiting for the provider,
 * item by item (feed()); interactive jobs still go first, by priority.
 *
 * One feeder per worker process; the lock makes at most one of them feed a given provider at a time. It runs
 * every BATCH_FEED_INTERVAL_MS, and at once when an API publishes a new batch on `batchWakeChannel`. It also
 * runs the reconciliation pass (reconciler.ts) every BATCH_RECONCILE_INTERVAL_MS.
 */
export interface FeederOptions {
  config: Config;
  keys: Keys;
  /** The worker's connection (maxRetriesPerRequest: null). The feeder duplicates it: its addBulk pipelines never
   * queue in front of the running jobs' commands (an interactive job's start and final write among them). */
  redis: RedisConnection;
  logger: Logger;
  providers: readonly ProviderName[];
}

/** Items per addBulk. */
export const FEED_CHUNK = 500;
/** A newly arrived key's first share goes ahead of the batch items already queued (freshOwners). */
const FRESH_PRIORITY = BATCH_JOB_PRIORITY - 1;
/** An owner not fed for this long counts as newly arrived again. */
const FRESH_MS = 30_000;
/** The oldest batches a pass looks at to share between their owners. */
const FAIR_SCAN = 200;

type FeedJob = { name: JobType | typeof BATCH_GROUP_JOB; data: JobPayload | BatchGroupData; opts: Record<string, unknown> };

/**
 * A chunk's decoded items as BullMQ jobs: runs of up to `size` consecutive items of the same round, in order. A run
 * of one item is the item's own job (named after its type, id batchItemJobId), as every batch job was before
 * batch jobs held several items; a longer run is a BATCH_GROUP_JOB (id batchGroupJobId).
 */
export function groupJobs(batchId: string, items: readonly BatchGroupItem[], size: number, opts: Record<string, unknown>): FeedJob[] {
  const jobs: FeedJob[] = [];
  for (let i = 0; i < items.length; ) {
    const round = items[i]?.payload.batch_round ?? 0;
    let end = i + 1;
    while (end < items.length && end - i < size && (items[end]?.payload.batch_round ?? 0) === round) end++;
    const run = items.slice(i, end);
    const first = run[0] as BatchGroupItem;
    if (run.length === 1) {
      jobs.push({ name: first.payload.type, data: first.payload, opts: { ...opts, jobId: batchItemJobId(batchId, first.index, round) } });
    } else {
      const last = run.at(-1) as BatchGroupItem;
      jobs.push({ name: BATCH_GROUP_JOB, data: { batch_id: batchId, items: run }, opts: { ...opts, jobId: batchGroupJobId(batchId, first.index, last.index, round) } });
    }
    i = end;
  }
  return jobs;
}

interface FeedChunk {
  owner: string;
  batchId: string;
  list: string;
  entries: string[];
}

/** a1 b1 c1 a2 b2 …: the owners' items alternate in the queue. */
export function interleave<T>(lists: readonly T[][]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of lists) if (i < l.length) out.push(l[i] as T);
  return out;
}
const LOCK_MS = 10_000;

export class BatchFeeder {
  private readonly queues = new Map<ProviderName, Queue>();
  private readonly passes = new Map<ProviderName, Promise<number>>();
  private readonly owners = new Map<string, string>();
  /** Per provider: the owners this feeder fed lately, and when. */
  private readonly recent = new Map<ProviderName, Map<string, number>>();
  private readonly again = new Set<ProviderName>();
  private subscriber: RedisConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<number> | undefined;
  private closing: Promise<void> | undefined;
  private readonly jobOptions;
  private readonly redis: RedisConnection;

  constructor(private readonly opts: FeederOptions) {
    const { config } = opts;
    this.redis = duplicateConnection(opts.redis, "llmq-batch-feeder");
    this.redis.on("error", (err: Error) => opts.logger.warn({ err: err.message }, "batch feeder connection error"));
    // Finished batch jobs are removed at once: the item's result line is its record, and 50,000 finished
    // BullMQ jobs would only cost memory. Failed ones are kept like any other job's, for inspection.
    this.jobOptions = { ...defaultJobOptions(config), removeOnComplete: true, priority: BATCH_JOB_PRIORITY };
    for (const provider of opts.providers) {
      const queue = new Queue(QUEUE_NAMES[provider], { connection: this.redis, prefix: opts.keys.queuePrefix(provider) });
      queue.on("error", (err) => opts.logger.warn({ provider, err: err.message }, "batch feeder queue error"));
      this.queues.set(provider, queue);
    }
  }

  /** Feed while fewer than this many items wait in the provider's queue (a waiting job counts as `batch.jobItems`). */
  lowWater(provider: ProviderName): number {
    const { batch, providers } = this.opts.config;
    return batch.feedLowWater > 0 ? batch.feedLowWater : Math.max(100, 2 * providers[provider].concurrency * batch.jobItems);
  }

  async start(): Promise<void> {
    const channel = batchWakeChannel(this.opts.keys);
    const sub = duplicateConnection(this.opts.redis, "llmq-batch-wake");
    sub.on("error", (err: Error) => this.opts.logger.warn({ err: err.message }, "batch feeder subscriber error"));
    sub.on("message", (ch: string, message: string) => {
      if (ch !== channel) return;
      for (const p of message.split(",")) if (this.queues.has(p as ProviderName)) this.kick(p as ProviderName);
    });
    this.subscriber = sub;
    await sub.subscribe(channel).catch((err: unknown) => this.opts.logger.warn({ err: (err as Error).message }, "batch feeder could not subscribe; feeding on its interval only"));
    this.timer = setInterval(() => {
      for (const p of this.queues.keys()) this.kick(p);
    }, this.opts.config.batch.feedIntervalMs);
    this.timer.unref();
    for (const p of this.queues.keys()) this.kick(p);
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.opts.config.batch.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  /** One reconciliation pass (reconciler.ts), unless one is running; never throws. */
  async reconcile(): Promise<number> {
    if (this.reconciling !== undefined || this.closing !== undefined) return 0;
    const { keys, config, logger } = this.opts;
    this.reconciling = reconcileBatches({ redis: this.redis, keys, config, logger, queues: this.queues }, randomUUID())
      .catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, "batch reconciliation failed; retrying on the next interval");
        return 0;
      })
      .finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  /** Starts a pass for the provider, or asks the running one to go again when it ends. */
  kick(provider: ProviderName): void {
    if (this.closing !== undefined) return;
    if (this.passes.has(provider)) {
      this.again.add(provider);
      return;
    }
    const pass = this.feed(provider)
      .catch((err: unknown) => {
        this.opts.logger.warn({ provider, err: (err as Error).message }, "batch feed pass failed; retrying on the next tick");
        return 0;
      })
      .finally(() => {
        this.passes.delete(provider);
        if (this.again.delete(provider)) this.kick(provider);
      });
    this.passes.set(provider, pass);
  }

  /**
   * One pass: tops the provider's queue up to twice its low-water mark, sharing what it adds equally between
   * the API keys that have batches waiting (each key's oldest batch first), interleaved item by item, so one
   * key's 50,000 items never hold back another key's 100. Returns the items fed.
   */
  async feed(provider: ProviderName): Promise<number> {
    const { keys } = this.opts;
    const redis = this.redis;
    const queue = this.queues.get(provider);
    const active = activeBatchesKey(keys, provider);
    if (queue === undefined || (await redis.zcard(active)) === 0) return 0;
    // Delayed jobs count too: a model waiting out a 429 must not pull the rest of its batches into BullMQ.
    const counts = await queue.getJobCounts("wait", "prioritized", "delayed");
    let depth = ((counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)) * this.opts.config.batch.jobItems;
    const low = this.lowWater(provider);
    const batchIds = await redis.zrange(active, "0", String(FAIR_SCAN - 1));
    const owners = await this.ownersOf(batchIds);
    let fresh = this.freshOwners(provider, owners);
    if (depth >= low && fresh.size === 0) return 0;

    const lock = feedLockKey(keys, provider);
    const token = randomUUID();
    if ((await redis.set(lock, token, "PX", LOCK_MS, "NX")) !== "OK") return 0;
    let fed = 0;
    try {
      let ids = batchIds;
      let idOwners = owners;
      while ((depth < 2 * low || fresh.size > 0) && this.closing === undefined) {
        const room = Math.max(0, Math.min(FEED_CHUNK, 2 * low - depth));
        const chunks = await this.fairChunks(provider, ids, idOwners, room, fresh, depth);
        if (chunks.length === 0) break;
        const jobs = interleave(await Promise.all(chunks.map((c) => this.jobsOf(c.batchId, c.entries, fresh.has(c.owner) ? FRESH_PRIORITY : BATCH_JOB_PRIORITY))));
        await queue.addBulk(jobs);
        for (const c of chunks) await BATCH_SCRIPTS.trimFed.run(redis, [c.list], [c.entries.length, c.entries[0] as string, c.entries.at(-1) as string]);
        if ((await BATCH_SCRIPTS.renewLock.run(redis, [lock], [token, LOCK_MS])) !== 1) {
          this.opts.logger.warn({ provider }, "batch feeder lost its lock; the next pass re-feeds the chunk (same job ids)");
          break;
        }
        this.markFed(provider, chunks);
        const n = chunks.reduce((sum, c) => sum + c.entries.length, 0);
        depth += n;
        fed += n;
        ids = await redis.zrange(active, "0", String(FAIR_SCAN - 1));
        idOwners = await this.ownersOf(ids);
        // A key whose batch arrived while this pass ran is as new as one that arrived before it: its first share
        // goes ahead of what this pass has queued for the others.
        fresh = this.freshOwners(provider, idOwners);
      }
    } finally {
      await BATCH_SCRIPTS.releaseLock.run(redis, [lock], [token]).catch(() => undefined);
    }
    if (fed > 0) this.opts.logger.debug({ provider, fed, depth }, "batch items fed");
    return fed;
  }

  /**
   * Up to `room` items, split equally between the owners (API keys) with batches pending for this provider,
   * each from its owner's oldest batch with items. A fresh owner (freshOwners) gets, even when the queue has
   * no room, as many items as each other owner has in the `backlog` already queued, fed ahead of it: a small
   * batch arriving behind a large one is done in about the time its own items take. Batches found empty leave
   * the provider's active set.
   */
  private async fairChunks(provider: ProviderName, batchIds: readonly string[], owners: readonly string[], room: number, fresh: ReadonlySet<string>, backlog: number): Promise<FeedChunk[]> {
    const { keys } = this.opts;
    const active = activeBatchesKey(keys, provider);
    const byOwner = new Map<string, string[]>();
    owners.forEach((owner, i) => {
      const list = byOwner.get(owner) ?? [];
      list.push(batchIds[i] as string);
      byOwner.set(owner, list);
    });
    const chunks: FeedChunk[] = [];
    const share = Math.ceil(room / Math.max(1, byOwner.size));
    // The backlog is the other owners': a fresh one gets as many items ahead of it as each of them has queued.
    const freshShare = Math.min(FEED_CHUNK, Math.max(share, Math.ceil(backlog / Math.max(1, byOwner.size - fresh.size))));
    for (const [owner, ownerBatches] of byOwner) {
      const n = fresh.has(owner) ? freshShare : share;
      if (n <= 0) continue;
      for (const batchId of ownerBatches) {
        const list = batchKeySet(keys, batchId).pending[provider];
        const entries = await this.redis.lrange(list, 0, n - 1);
        if (entries.length > 0) {
          chunks.push({ owner, batchId, list, entries });
          break;
        }
        // A pending list never grows once its batch is in the active set: empty now is empty for good.
        if ((await this.redis.llen(list)) === 0) await this.redis.zrem(active, batchId);
      }
    }
    return chunks;
  }

  /** Each batch's owner (it never changes, so it is read once per batch). */
  private async ownersOf(batchIds: readonly string[]): Promise<string[]> {
    const missing = batchIds.filter((id) => !this.owners.has(id));
    if (missing.length > 0) {
      // One command per batch (each batch is in a slot of its own on a cluster), sent together.
      const res = await Promise.all(missing.map((id) => this.redis.hget(this.opts.keys.batch(id), "owner")));
      missing.forEach((id, i) => this.owners.set(id, res[i] ?? ""));
      if (this.owners.size > 10_000) for (const id of [...this.owners.keys()].slice(0, 5_000)) this.owners.delete(id);
    }
    return batchIds.map((id) => this.owners.get(id) ?? "");
  }

  /** The chunk as BullMQ jobs. An entry that does not decode (never written by llmq) fails its item instead of the feed. */
  /**
   * Owners with batches pending that this feeder has not fed in the last FRESH_MS, while others it fed lately
   * may still have items queued. Such a key (its batch arrived behind another key's backlog) has its first
   * share fed at once and at FRESH_PRIORITY, ahead of that backlog (interactive jobs still go first): it
   * starts now instead of behind what was queued before it existed, as a start-time fair queue would order it.
   */
  private freshOwners(provider: ProviderName, owners: readonly string[]): Set<string> {
    const seen = this.recentOwners(provider);
    const fresh = new Set<string>();
    if (seen.size === 0) return fresh;
    for (const owner of owners) if (!seen.has(owner)) fresh.add(owner);
    return fresh;
  }

  private markFed(provider: ProviderName, chunks: readonly FeedChunk[]): void {
    const seen = this.recentOwners(provider);
    const now = Date.now();
    for (const c of chunks) seen.set(c.owner, now);
  }

  /** The owners this feeder fed in the last FRESH_MS, and when. */
  private recentOwners(provider: ProviderName): Map<string, number> {
    let seen = this.recent.get(provider);
    if (seen === undefined) this.recent.set(provider, (seen = new Map()));
    const now = Date.now();
    for (const [owner, at] of seen) if (now - at > FRESH_MS) seen.delete(owner);
    return seen;
  }

  private async jobsOf(batchId: string, entries: string[], priority: number): Promise<FeedJob[]> {
    const items: BatchGroupItem[] = [];
    for (const entry of entries) {
      try {
        const { index, payload } = decodeBatchEntry(entry);
        items.push({ index, payload });
      } catch (err) {
        await this.failUndecodable(batchId, entry, err as Error);
      }
    }
    return groupJobs(batchId, items, this.opts.config.batch.jobItems, { ...this.jobOptions, priority });
  }

  private async failUndecodable(batchId: string, entry: string, err: Error): Promise<void> {
    const index = Number(entry.slice(0, Math.max(0, entry.indexOf("\n"))));
    this.opts.logger.error({ batch_id: batchId, index, err: err.message }, "batch entry does not decode; its item fails");
    if (!Number.isInteger(index) || index < 0) return;
    const jobId = batchItemJobId(batchId, index);
    const line = batchResultLine({ status: "failed", custom_id: "", job_id: jobId, error: { code: "INTERNAL", message: "the stored item could not be read" } });
    const { keys, config } = this.opts;
    await storeFinish(this.redis, keys, batchId, { index, state: "f", line }, config.jobs.resultTtlS);
  }

  /** Stops feeding; waits for a running pass (it stops after its current chunk). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== undefined) clearInterval(this.timer);
      if (this.reconcileTimer !== undefined) clearInterval(this.reconcileTimer);
      await Promise.allSettled([...this.passes.values(), this.reconciling]);
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
      await closeQuietly(this.subscriber);
      await closeQuietly(this.redis);
    })();
    return this.closing;
  }

  /** Drops its connections at once, for a Redis that does not answer: a pass waiting on it fails and close() ends. */
  disconnect(): void {
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }
}
