import { DelayedError } from "bullmq";
import type { FinalJobRecord, JobPayload, SyncGroupData, SyncGroupMember } from "@llmq/shared";
import { retryDelay } from "./backoff.js";
import type { GroupRunState } from "./batches/batch-group.js";
import { finalize } from "./finalize.js";
import { report, type GroupHooks, type JobReturn, type JobRun, type LlmqJob, type RunnerDeps } from "./job-run.js";

/**
 * A sync job of several requests, the worker's side (contracts/sync-group.ts; the API gathers them in
 * services/api/src/jobs/sync-groups.ts). Invariants:
 * - its requests run side by side, each exactly as the job of its own it would be (job-runner.ts `attempt`: its
 *   own attempt count, record, done message, log line and metrics event); the job only shares BullMQ's add,
 *   fetch and finish. Provider calls in flight still never exceed the provider's concurrency: the transport
 *   holds that many connections, and a request beyond them waits for one;
 * - no request that has a record is sent to a provider (one the API cancelled while the job waited, or one an
 *   earlier run of the job finished): one GET per request, sent together, before any runs. When the job runs
 *   again, a request that went on in a job of its own (below) is skipped too;
 * - what would move a job of its own back to the queue moves only that request, to a job of its own under its
 *   own id, BEFORE this job finishes: a retryable failure after the backoff its next attempt would get (its
 *   attempts counted on), a wait for capacity or a provider's 429 after that wait (no attempt spent). Every
 *   request is in BullMQ or has its record, whatever then happens to this job;
 * - a shutdown hands the whole job back, once every request of it has stopped; those that finished keep their
 *   records and are skipped when it runs again;
 * - the requests' entries in keys.syncGrouped() are deleted once the job is done with all of them; a run that
 *   throws keeps them for the next.
 */

/** What a request does where a job of its own would hand itself back (job-runner.ts handBack). */
export class HandedBack extends Error {
  constructor(readonly delayMs: number) {
    super("request handed back with its sync job");
  }
}

export interface SyncMemberRunner {
  /** One attempt of a request that may run (job-runner.ts). */
  attempt(run: JobRun): Promise<JobReturn>;
}

export async function runSyncGroup(deps: RunnerDeps, job: LlmqJob, token: string | undefined, signal: AbortSignal | undefined, runner: SyncMemberRunner, state: GroupRunState): Promise<JobReturn> {
  const members = (job.data as unknown as SyncGroupData).members ?? [];
  // BullMQ can still hand out a job while its close() interrupts a blocking fetch; give it back.
  if (deps.isClosing()) return handBackJob(deps, job, token, 0, "sync job handed back: worker is shutting down");

  const hooks: GroupHooks = {
    retryAlone: (run, retryAfterMs) => alone(state, run, run.attempt, retryDelay(run.attempt, deps.config.jobs.backoffMs, retryAfterMs)),
    waitAlone: (run, waitMs) => alone(state, run, run.attempt - 1, waitMs),
    handBack: (_run, delayMs) => {
      throw new HandedBack(delayMs);
    },
  };
  const runnable = await whichRun(deps, job, members);
  const runs: JobRun[] = [];
  for (let i = 0; i < members.length; i++) {
    const member = members[i] as SyncGroupMember;
    const run = memberRun(deps, job, token, signal, member, hooks);
    const skip = runnable[i];
    if (skip === undefined) runs.push(run);
    else skipped(run, skip);
  }
  const settled = await Promise.allSettled(runs.map((run) => runner.attempt(run)));
  let handedBack: HandedBack | undefined;
  for (const s of settled) {
    if (s.status === "fulfilled") continue;
    if (s.reason instanceof HandedBack) handedBack ??= s.reason;
    // Anything else is the job's own failure (a Redis error before a request's record was stored): BullMQ runs
    // the job again, and the requests stored or moved by this run are skipped then.
    else throw s.reason;
  }
  if (handedBack !== undefined) return handBackJob(deps, job, token, handedBack.delayMs, "sync job handed back at shutdown");
  await deps.redis.hdel(deps.keys.syncGrouped(), ...members.map((m) => m.id)).catch(() => undefined);
  return { stored: true };
}

/**
 * Per request, undefined when it may run, else the status it already has ("moved": a job of its own). On a first
 * run one HMGET of the requests' index entries says it: the API deletes a request's entry when it cancels it
 * (after storing its record), so only a request without an entry needs its record read. A run after an earlier
 * one reads every request's record, and whether it has a BullMQ job of its own.
 */
async function whichRun(deps: RunnerDeps, job: LlmqJob, members: readonly SyncGroupMember[]): Promise<(FinalJobRecord["status"] | "moved" | undefined)[]> {
  const rerun = job.attemptsStarted > 1 || job.attemptsMade > 0;
  let check = members.map((_, i) => i);
  if (!rerun && members.length > 0) {
    const entries = await deps.redis.hmget(deps.keys.syncGrouped(), ...members.map((m) => m.id));
    check = check.filter((i) => entries[i] === null);
  }
  const out: (FinalJobRecord["status"] | "moved" | undefined)[] = members.map(() => undefined);
  if (check.length === 0) return out;
  // One command per key (they hash to different slots on a cluster); the connection sends them in one write.
  const records = check.map((i) => deps.redis.get(deps.keys.result((members[i] as SyncGroupMember).id)));
  const ownJobs = rerun ? check.map((i) => deps.redis.exists(`${job.queueQualifiedName}:${(members[i] as SyncGroupMember).id}`)) : [];
  const [stored, moved] = await Promise.all([Promise.all(records), Promise.all(ownJobs)]);
  check.forEach((i, k) => {
    const json = stored[k];
    if (json !== null && json !== undefined) out[i] = statusOf(json);
    else if (moved[k] === 1) out[i] = "moved";
  });
  return out;
}

function statusOf(json: string): FinalJobRecord["status"] {
  try {
    return (JSON.parse(json) as FinalJobRecord).status ?? "completed";
  } catch {
    // an unreadable record is still a record: never run the request twice
    return "completed";
  }
}

function skipped(run: JobRun, status: FinalJobRecord["status"] | "moved"): void {
  if (status === "moved") {
    run.deps.logger.debug({ job_id: run.id }, "request of a sync job went on in a job of its own; not run here");
    return;
  }
  const outcome = status === "failed" ? "failed" : status === "cancelled" ? "cancelled" : "completed";
  report(run, outcome, `job already ${status}; not run again`, { skipped: true });
}

function memberRun(deps: RunnerDeps, job: LlmqJob, token: string | undefined, signal: AbortSignal | undefined, member: SyncGroupMember, group: GroupHooks): JobRun {
  const started = Date.now();
  return {
    deps, job, token, signal, group,
    id: member.id,
    payload: member.payload,
    attempt: job.attemptsMade + 1 + (member.payload.batch_attempts ?? 0),
    maxAttempts: job.opts.attempts ?? 1,
    started,
    firstStart: job.processedOn ?? started,
  };
}

/** The request as a job of its own under its own id, `spent` attempts counted, after `delayMs`. */
async function alone(state: GroupRunState, run: JobRun, spent: number, delayMs: number): Promise<void> {
  const { attempts, backoff, removeOnComplete, removeOnFail } = run.job.opts;
  const payload: JobPayload = spent > 0 ? { ...run.payload, batch_attempts: spent } : run.payload;
  await state.queue(run.job).add(payload.type, payload, { attempts, backoff, removeOnComplete, removeOnFail, jobId: run.id, ...(delayMs > 0 && { delay: delayMs }) });
}

async function handBackJob(deps: RunnerDeps, job: LlmqJob, token: string | undefined, delayMs: number, message: string): Promise<never> {
  if (token !== undefined) await job.moveToDelayed(Date.now() + delayMs, token);
  deps.logger.info({ job_id: String(job.id), requests: (job.data as unknown as SyncGroupData).members?.length ?? 0 }, message);
  throw new DelayedError();
}

/**
 * A sync job BullMQ failed outside the runner (stalled too often): its requests without a record get one, failed,
 * so their waiting clients are answered and none is left without a final state.
 */
export async function failLostSyncGroup(deps: Pick<RunnerDeps, "redis" | "keys" | "config">, job: LlmqJob, message: string): Promise<number> {
  const members = (job.data as unknown as SyncGroupData).members ?? [];
  const now = Date.now();
  let stored = 0;
  await Promise.all(
    members.map(async (m) => {
      if ((await deps.redis.exists(deps.keys.result(m.id))) === 1) return;
      if ((await deps.redis.exists(`${job.queueQualifiedName}:${m.id}`)) === 1) return;
      const p = m.payload;
      const record: FinalJobRecord = { id: m.id, type: p.type, owner: p.owner, status: "failed", error: { code: "INTERNAL", message }, attempts: job.attemptsMade, created_at: p.created_at, finished_at: now };
      await finalize(deps.redis, deps.keys, record, { resultTtlS: deps.config.jobs.resultTtlS, cacheTtlS: 0, clearJobState: true });
      stored++;
    }),
  );
  await deps.redis.hdel(deps.keys.syncGrouped(), ...members.map((m) => m.id)).catch(() => undefined);
  return stored;
}
