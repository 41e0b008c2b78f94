import { randomUUID } from "node:crypto";
import type { RedisConnection } from "@llmq/shared";
import { AppError, PROVIDERS, createKeys, hashJson, parseSyncGroupRef, sha256Hex, type Config, type FinalJobRecord, type JobPayload, type JobType, type ProviderName, type SyncGroupData } from "@llmq/shared";
import type { Job } from "bullmq";
import { queueUnavailable } from "../http/errors.js";
import type { ApiMetrics } from "../metrics/api-metrics.js";
import type { JobQueue, JobQueues } from "./job-queues.js";
import type { JobRequestPlanner, PlannedJob } from "./job-request.js";
import type { JobStore } from "./job-store.js";
import { queuedView, viewFromQueue, viewFromRecord, type JobView } from "./job-view.js";
import type { PendingWait, ResultWaiter } from "./result-waiter.js";
import { SyncGroups } from "./sync-groups.js";

/**
 * The job routes' decisions, without req/res. The hot path of a sync request is: plan (CPU only), then only
 * the Redis round trips the request asked for (rate limit when configured, cache when `cache: true`,
 * idempotency when the header is sent), then register the waiter and `queue.add` (one round trip), then one
 * MGET shared with every other result that finished in the same tick.
 */
export type JobAnswer =
  | { kind: "final"; record: FinalJobRecord; cached: boolean; replayed: boolean }
  | { kind: "accepted"; view: JobView; replayed: boolean };

export interface SubmitOptions {
  owner: string;
  requestId: string;
  /** 0 answers 202 at once (async). */
  waitMs: number;
  idempotencyKey: string | undefined;
  /** Called with a function that ends the wait early; the route calls it when the client goes away. */
  onAbort(cancel: () => void): void;
  /** Plans the body instead of the planner's route schema (the /v1 routes: OpenAI or Anthropic bodies). */
  plan?: (ctx: { owner: string; requestId: string; now: number }) => Promise<PlannedJob>;
  /** Called once the job is in its queue (or found, for an idempotent replay), before the wait. */
  onEnqueued?: (jobId: string) => void;
}

/** `member`: the job is a request of a sync job of several requests (`job`, shared), whose payload is this. */
type Found = { record: FinalJobRecord } | { view: JobView; job: QueuedJob; member?: JobPayload };
type QueuedJob = NonNullable<Awaited<ReturnType<JobQueue["getJob"]>>>;
/** An Idempotency-Key this request holds: given back if its job cannot be enqueued. */
type Claim = { keyHash: string; value: string };

/** Batch items' views (the batches component), so GET /jobs/{id} answers for them too. */
export interface BatchItemViews {
  item(jobId: string, owner: string): Promise<JobView | undefined>;
}

export class JobService {
  private readonly groups: SyncGroups;
  private readonly groupIndex: string;

  constructor(
    private readonly config: Config,
    private readonly redis: RedisConnection,
    private readonly queues: JobQueues,
    private readonly store: JobStore,
    private readonly waiter: ResultWaiter,
    private readonly planner: JobRequestPlanner,
    private readonly metrics: ApiMetrics,
    private readonly batchItems?: BatchItemViews,
  ) {
    const keys = createKeys(config.redis.prefix);
    this.groupIndex = keys.syncGrouped();
    this.groups = new SyncGroups(queues, redis, keys, config.api.syncJobRequests);
  }

  async submit(type: JobType, body: unknown, opts: SubmitOptions): Promise<JobAnswer> {
    const now = Date.now();
    const ctx = { owner: opts.owner, requestId: opts.requestId, now };
    const planned = opts.plan === undefined ? await this.planner.plan(type, body, ctx) : await opts.plan(ctx);
    this.assertRedis(opts.waitMs > 0);
    if (this.config.api.rateLimitPerMin > 0) await this.enforceRateLimit(opts.owner, now);

    if (planned.cacheKey !== undefined) {
      const hit = await this.store.cached(planned.cacheKey);
      this.metrics.cache.inc({ outcome: hit ? "hit" : "miss" });
      if (hit !== undefined) return { kind: "final", record: hit, cached: true, replayed: false };
      planned.payload.cache_key = planned.cacheKey;
    }

    const jobId = randomUUID();
    let idem: Claim | undefined;
    if (opts.idempotencyKey !== undefined) {
      const claim = await this.claimIdempotency(opts.owner, opts.idempotencyKey, jobId, { type, body });
      if ("existingId" in claim) return this.answerExisting(claim.existingId, claim.claimedAt, type, opts, now);
      idem = claim;
    }

    const pending = opts.waitMs > 0 ? this.waiter.wait(jobId, opts.waitMs) : undefined;
    try {
      const payload = planned.payload;
      // Sync, non-streaming requests may share a BullMQ job with others arriving together (sync-groups.ts).
      if (pending !== undefined && !(payload.type === "chat" && payload.stream === true)) await this.groups.add(planned.model.provider, type, payload, jobId);
      else await this.queues[planned.model.provider].add(type, payload, { jobId });
    } catch (err) {
      pending?.cancel();
      if (idem !== undefined) await this.store.releaseIdempotency(opts.owner, idem.keyHash, idem.value).catch(() => undefined);
      throw err;
    }
    this.metrics.enqueued.inc({ type, provider: planned.model.provider });
    opts.onEnqueued?.(jobId);
    if (pending === undefined) return { kind: "accepted", view: queuedView(jobId, type, now), replayed: false };
    opts.onAbort(pending.cancel);
    return this.settle(jobId, type, opts.owner, pending, now, false);
  }

  private async enforceRateLimit(owner: string, now: number): Promise<void> {
    const limit = this.config.api.rateLimitPerMin;
    const retryAfter = await this.store.rateLimit(owner, limit, now);
    if (retryAfter === 0) return;
    this.metrics.rateLimited.inc();
    throw new AppError("RATE_LIMITED", `more than ${limit} requests per minute for this key`, {
      details: { limit_per_min: limit, retry_after_s: retryAfter },
      headers: { "Retry-After": String(retryAfter) },
    });
  }

  /** Claims an Idempotency-Key for `jobId`, or names the job that holds it (same request) or refuses (another). */
  private async claimIdempotency(owner: string, key: string, jobId: string, request: unknown): Promise<Claim | { existingId: string; claimedAt: number }> {
    const keyHash = sha256Hex(key);
    const requestHash = hashJson(request);
    const value = `${jobId} ${requestHash} ${Date.now()}`;
    const existing = await this.store.claimIdempotency(owner, keyHash, value, this.config.api.idempotencyTtlS);
    if (existing === undefined) return { keyHash, value };
    const [existingId = "", existingHash, claimedAt] = existing.split(" ");
    if (existingHash !== requestHash) {
      throw new AppError("IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used with a different request", { details: { job_id: existingId } });
    }
    this.metrics.idempotentReplays.inc();
    return { existingId, claimedAt: Number(claimedAt) || 0 };
  }

  /** GET /jobs/{id}. */
  async get(id: string, owner: string): Promise<JobView> {
    if (BATCH_ITEM_ID.test(id) && this.batchItems !== undefined) {
      const view = await this.batchItems.item(id, owner);
      if (view === undefined) throw notFound(id);
      return view;
    }
    const found = await this.find(id, owner);
    if (found === undefined) throw notFound(id);
    return "record" in found ? viewFromRecord(found.record) : found.view;
  }

  /** DELETE /jobs/{id}: only a job no worker holds can be cancelled; cancelling twice answers the same. */
  async cancel(id: string, owner: string): Promise<JobView> {
    this.assertRedis();
    const found = await this.find(id, owner);
    if (found === undefined) throw notFound(id);
    if ("record" in found) {
      if (found.record.status === "cancelled") return viewFromRecord(found.record);
      throw notCancellable(id, found.record.status);
    }
    if (found.view.status !== "queued") throw notCancellable(id, found.view.status);
    if (found.member !== undefined) return this.cancelMember(id, owner, found.view);
    const job = found.job;
    // The mark first, then the record: a worker taking the job from here on finds the mark in the job it is
    // handed (its first start reads nothing else), and a later start finds the record too.
    const cancelledAt = Date.now();
    const marked = await (job as Job<JobPayload>).updateData({ ...job.data, cancelled_at: cancelledAt }).then(
      () => true,
      () => false,
    );
    const record: FinalJobRecord = {
      id,
      type: found.view.type,
      owner,
      status: "cancelled",
      attempts: found.view.attempts,
      created_at: found.view.created_at,
      finished_at: cancelledAt,
      ...(job.data.batch_id !== undefined && { batch_id: job.data.batch_id }),
      ...(job.data.custom_id !== undefined && { custom_id: job.data.custom_id }),
    };
    // No mark: the job left BullMQ meanwhile (finished and removed); the record written NX says how it ended.
    if (!marked || !(await this.store.writeCancelled(record, this.config.jobs.resultTtlS))) {
      const final = await this.store.record(id);
      if (final?.status === "cancelled") return viewFromRecord(final);
      throw notCancellable(id, final?.status ?? "active");
    }
    // A worker that took the job before the mark holds its lock: remove() fails and that run goes on, but its
    // final write (NX) loses to the cancelled record.
    await job.remove().catch(() => undefined);
    return viewFromRecord(record);
  }

  /**
   * A queued request of a sync job of several requests: its record alone (NX), then its entry in
   * keys.syncGrouped() deleted. The shared job stays: the worker that takes it reads the entries first and runs
   * no request that has none and has a record (sync-group.ts). A worker that took the job in between runs it,
   * and then, as for a job of its own, its final write (NX) loses to this record.
   */
  private async cancelMember(id: string, owner: string, view: JobView): Promise<JobView> {
    const cancelledAt = Date.now();
    const record: FinalJobRecord = { id, type: view.type, owner, status: "cancelled", attempts: view.attempts, created_at: view.created_at, finished_at: cancelledAt };
    if (!(await this.store.writeCancelled(record, this.config.jobs.resultTtlS))) {
      const final = await this.store.record(id);
      if (final?.status === "cancelled") return viewFromRecord(final);
      throw notCancellable(id, final?.status ?? "active");
    }
    await this.redis.hdel(this.groupIndex, id).catch(() => undefined);
    return viewFromRecord(record);
  }

  /**
   * Idempotent replay: the first request's job, waited for like a new one. A job not found yet may still be on
   * its way into the queue (the key is claimed before the add); one claimed long ago and gone has expired
   * (RESULT_TTL_S shorter than IDEMPOTENCY_TTL_S), and waiting for it would only end in a 202 for nothing.
   */
  private async answerExisting(id: string, claimedAt: number, type: JobType, opts: SubmitOptions, now: number): Promise<JobAnswer> {
    const pending = opts.waitMs > 0 ? this.waiter.wait(id, opts.waitMs) : undefined;
    const found = await this.find(id, opts.owner).catch((err: unknown) => {
      pending?.cancel();
      throw err;
    });
    if (found !== undefined && "record" in found) {
      pending?.cancel();
      return { kind: "final", record: found.record, cached: false, replayed: true };
    }
    if (found === undefined && now - claimedAt > ENQUEUE_GRACE_MS) {
      pending?.cancel();
      throw new AppError("NOT_FOUND", `the job this Idempotency-Key names (${id}) no longer exists: its result has expired`, { details: { job_id: id } });
    }
    opts.onEnqueued?.(id);
    if (pending === undefined) return { kind: "accepted", view: found?.view ?? queuedView(id, type, now), replayed: true };
    opts.onAbort(pending.cancel);
    return this.settle(id, type, opts.owner, pending, now, true);
  }

  private async settle(id: string, type: JobType, owner: string, pending: PendingWait, createdAt: number, replayed: boolean): Promise<JobAnswer> {
    const outcome = await pending.promise;
    if (outcome.kind === "done") return { kind: "final", record: outcome.record, cached: false, replayed };
    // Hand-over: the result may have landed between the timeout and now; it is in Redis, so look once more.
    const found = await this.find(id, owner).catch(() => undefined);
    if (found !== undefined && "record" in found) return { kind: "final", record: found.record, cached: false, replayed };
    return { kind: "accepted", view: found?.view ?? queuedView(id, type, createdAt), replayed };
  }

  /**
   * Finds a job: its final record, else its BullMQ job. The id does not say which provider queue holds it,
   * so the record and the three queues are read in parallel (one round trip on the pipelined connection),
   * then the job's state (one more, only for unfinished jobs).
   */
  private async find(id: string, owner: string): Promise<Found | undefined> {
    if (!JOB_ID.test(id)) return undefined;
    const [record, grouped, ...jobs] = await Promise.all([this.store.record(id), this.redis.hget(this.groupIndex, id), ...PROVIDERS.map((p) => this.queues[p].getJob(id))]);
    if (record !== undefined) return record.owner === owner ? { record } : undefined;
    const job = jobs.find((j) => j !== undefined);
    // A request of a sync job of several requests, unless it went on in a job of its own (found above).
    if (job === undefined && grouped !== null) return this.findMember(id, owner, grouped);
    if (job === undefined || job.data.owner !== owner) return undefined;
    const state = await job.getState();
    if (state === "completed" || state === "failed") {
      // The worker writes the record before it completes the job in BullMQ: read it again.
      const late = await this.store.record(id);
      if (late !== undefined) return { record: late };
    }
    return state === "unknown" ? undefined : { view: viewFromQueue(job, state), job };
  }

  private async findMember(id: string, owner: string, ref: string): Promise<Found | undefined> {
    const parsed = parseSyncGroupRef(ref);
    if (parsed === undefined || !(PROVIDERS as readonly string[]).includes(parsed.provider)) return undefined;
    const job = await this.queues[parsed.provider as ProviderName].getJob(parsed.groupId);
    const member = job === undefined ? undefined : (job.data as unknown as SyncGroupData).members?.find((m) => m.id === id);
    if (job === undefined || member === undefined || member.payload.owner !== owner) return undefined;
    const state = await job.getState();
    if (state === "completed" || state === "failed") {
      // Its requests' records are written before the shared job finishes: read it again.
      const late = await this.store.record(id);
      if (late !== undefined) return { record: late };
    }
    if (state === "unknown") return undefined;
    const shared = viewFromQueue(job, state);
    const view: JobView = { ...shared, id, type: member.payload.type, created_at: member.payload.created_at };
    return { view, job, member: member.payload };
  }

  /** Fails fast (no round trip) when the queue connection, or for a sync wait the result subscription, is down. */
  private assertRedis(syncWait = false): void {
    if (this.redis.status !== "ready" || (syncWait && !this.waiter.ready)) {
      throw queueUnavailable();
    }
  }
}

/** A batch item's job id: its batch, its index, its retry round. */
const BATCH_ITEM_ID = /^batch_[0-9a-f]{32}-\d{1,6}(?:-r\d{1,4})?$/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** How long a claimed Idempotency-Key's job may take to appear in its queue. */
const ENQUEUE_GRACE_MS = 10_000;

function notFound(id: string): AppError {
  return new AppError("NOT_FOUND", `no job ${id.slice(0, 64)}`);
}

function notCancellable(id: string, status: string): AppError {
  return new AppError("JOB_NOT_CANCELLABLE", `job ${id} is ${status}; only a queued job can be cancelled`, { details: { job_id: id, status } });
}
