import { randomUUID } from "node:crypto";
import { SYNC_GROUP_ID_PREFIX, SYNC_GROUP_JOB, syncGroupRef, type JobPayload, type JobType, type Keys, type ProviderName, type RedisConnection, type SyncGroupData } from "@llmq/shared";
import type { JobQueues } from "./job-queues.js";

/**
 * Sync jobs of several requests, the API's side (contracts/sync-group.ts; the worker's side is
 * services/worker/src/sync-group.ts). BullMQ's add, fetch and finish of a job cost more than llmq's own steps
 * for a request, in the API, the worker and Redis (its scripts run about 50 commands per job); requests that
 * arrive together share them. Invariants:
 * - grouping never waits for company: a sync request to a provider whose queue has no add of this API on its
 *   way to Redis is added alone, at once, as before. Only while one is on its way do the sync requests to that
 *   provider gather; when it returns they go as one job (up to `api.syncJobRequests`; a lone one as a job of its
 *   own), so a request waits at most for the add ahead of it, which its own would have queued behind anyway. A
 *   full job waits for nothing: it goes as soon as it is full, beside the add on its way, so a burst of
 *   requests is not held one round trip per job;
 * - a request's add resolves once its shared job and its entry in keys.syncGrouped() are both in Redis (the
 *   entry is sent first; on a single Redis, on the same connection, so it lands first), so GET and DELETE
 *   /jobs/{id} find it as soon as a client can know its id; a failed add rejects every request of the job, so
 *   each answers as a failed add of its own would, and their entries are taken back;
 * - each request keeps its own job id (a UUID); the shared job's id (SYNC_GROUP_ID_PREFIX) is never shown.
 * Only sync, non-streaming requests are grouped (JobService decides); async jobs stay one job each, since those
 * are the ones clients poll and cancel.
 */
interface Enqueued {
  type: JobType;
  payload: JobPayload;
  jobId: string;
}

interface Pending extends Enqueued {
  resolve(): void;
  reject(err: unknown): void;
}

interface ProviderLane {
  /** Adds of this lane on their way to Redis. */
  inFlight: number;
  pending: Pending[];
}

/** Adds on their way per provider before requests gather: one keeps the wait for company at one round trip. */
const ADDS_IN_FLIGHT = 1;

export class SyncGroups {
  private readonly lanes = new Map<ProviderName, ProviderLane>();

  constructor(
    private readonly queues: JobQueues,
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly maxRequests: number,
  ) {}

  /** Adds one sync request's job (alone or with others); resolves once it is in Redis. */
  add(provider: ProviderName, type: JobType, payload: JobPayload, jobId: string): Promise<void> {
    if (this.maxRequests <= 1) return this.queues[provider].add(type, payload, { jobId }).then(() => undefined);
    let lane = this.lanes.get(provider);
    if (lane === undefined) this.lanes.set(provider, (lane = { inFlight: 0, pending: [] }));
    if (lane.inFlight < ADDS_IN_FLIGHT && lane.pending.length === 0) return this.send(provider, lane, [{ type, payload, jobId }]);
    return new Promise<void>((resolve, reject) => {
      lane.pending.push({ type, payload, jobId, resolve, reject });
      if (lane.pending.length >= this.maxRequests) this.sendGroup(provider, lane, lane.pending.splice(0, this.maxRequests));
    });
  }

  private send(provider: ProviderName, lane: ProviderLane, requests: Enqueued[]): Promise<void> {
    lane.inFlight++;
    return this.addJob(provider, requests).finally(() => {
      lane.inFlight--;
      this.flush(provider, lane);
    });
  }

  private flush(provider: ProviderName, lane: ProviderLane): void {
    if (lane.pending.length === 0 || lane.inFlight >= ADDS_IN_FLIGHT) return;
    this.sendGroup(provider, lane, lane.pending.splice(0, this.maxRequests));
  }

  private sendGroup(provider: ProviderName, lane: ProviderLane, members: Pending[]): void {
    this.send(provider, lane, members).then(
      () => members.forEach((m) => m.resolve()),
      (err: unknown) => members.forEach((m) => m.reject(err)),
    );
  }

  /** One request as a job of its own, several as a sync job of several requests. */
  private async addJob(provider: ProviderName, members: Enqueued[]): Promise<void> {
    const queue = this.queues[provider];
    const [only] = members;
    if (members.length === 1 && only !== undefined) {
      await queue.add(only.type, only.payload, { jobId: only.jobId });
      return;
    }
    const groupId = `${SYNC_GROUP_ID_PREFIX}${randomUUID()}`;
    const ref = syncGroupRef(provider, groupId);
    const fields: string[] = [];
    for (const m of members) fields.push(m.jobId, ref);
    // Sent first: on a single Redis (one connection) the entries are in before the job a worker could take.
    const indexed = this.redis.hset(this.keys.syncGrouped(), ...fields);
    const data: SyncGroupData = { members: members.map((m) => ({ id: m.jobId, payload: m.payload })) };
    try {
      await queue.add(SYNC_GROUP_JOB as JobType, data as unknown as JobPayload, { jobId: groupId });
    } catch (err) {
      await indexed.catch(() => undefined);
      await this.redis.hdel(this.keys.syncGrouped(), ...members.map((m) => m.jobId)).catch(() => undefined);
      throw err;
    }
    // The job is in Redis: its requests run and answer even if the index write failed (only GET would miss them).
    await indexed.catch(() => undefined);
  }
}
