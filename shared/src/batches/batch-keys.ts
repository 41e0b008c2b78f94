import type { Keys } from "../contracts/keys.js";
import { PROVIDERS, type ProviderName } from "../contracts/providers.js";

/**
 * Where a batch lives in Redis. Per batch, under `keys.batch(id)` / `keys.batchPart(id, …)`:
 * - meta hash: owner, status, total and the five counts, created_at, started_at, finished_at,
 *   cancel_requested_at, metadata (JSON);
 * - `pending:<provider>`: the items not yet handed to BullMQ, one encoded entry each (batch-entry.ts), oldest first;
 * - `state`: item index -> a (started) | c (completed) | f (failed) | x (cancelled); absent = queued;
 * - `results`: one NDJSON line per finished item outcome, in finishing order (a retried item has one line per round);
 * - `lines`: item index -> the position in `results` of its latest line (readers skip the lines superseded by a retry);
 * - `retry`: item index -> `provider \n entry` of each failed item, written by the worker with its failed line, so a
 *   retry can put the item back without the client sending it again;
 * - `types`: one character per item (its job type's place in JOB_TYPES), so an item not started yet still has a type;
 * These share the batch's hash slot (`{batch id}`, contracts/keys.ts), so the batch scripts run on a Redis Cluster
 * and batches spread over its masters.
 * Per owner (ownerBatchesKey): a sorted set of the owner's batches (score: created_at), for the list route.
 * Per provider: a sorted set of the batches with pending items (score: created_at) and the feeders' lock; one
 * sorted set of unfinished batches; one channel that wakes the feeders when a batch arrives. Each of these is a
 * key of its own, touched by one-key commands only: a batch enters them after it is stored (announceBatch) and
 * leaves them after the script that finished it (retireBatch).
 */
export interface BatchKeySet {
  meta: string;
  state: string;
  results: string;
  lines: string;
  retry: string;
  types: string;
  pending: Record<ProviderName, string>;
  /**
   * Every key the batch scripts touch, in the order they expect: meta, state, results, the pending lists (in
   * PROVIDERS order), `lines`, `retry`, `types`. One list, all in the batch's slot, so a script never reaches a
   * key it was not given.
   */
  scriptKeys: string[];
}

export const BATCH_ID_PATTERN = /^batch_[0-9a-f]{32}$/;
const ITEM_JOB_ID = /^(batch_[0-9a-f]{32})-(\d{1,6})(?:-r(\d{1,4}))?$/;
const GROUP_JOB_ID = /^(batch_[0-9a-f]{32})-g(\d{1,6})-(\d{1,6})(?:-r(\d{1,4}))?$/;

export function batchKeySet(keys: Keys, batchId: string): BatchKeySet {
  const pending = Object.fromEntries(PROVIDERS.map((p) => [p, keys.batchPart(batchId, `pending:${p}`)])) as Record<ProviderName, string>;
  const meta = keys.batch(batchId);
  const state = keys.batchPart(batchId, "state");
  const results = keys.batchPart(batchId, "results");
  const lines = keys.batchPart(batchId, "lines");
  const retry = keys.batchPart(batchId, "retry");
  const types = keys.batchPart(batchId, "types");
  return {
    meta,
    state,
    results,
    lines,
    retry,
    types,
    pending,
    scriptKeys: [meta, state, results, ...PROVIDERS.map((p) => pending[p]), lines, retry, types],
  };
}

/** Batches that still have items for this provider's queue, oldest first. */
export function activeBatchesKey(keys: Keys, provider: ProviderName): string {
  return keys.custom(`batches:active:${provider}`);
}

/** Every batch not finished yet (score: created_at), for the workers' reconciliation pass. */
export function runningBatchesKey(keys: Keys): string {
  return keys.custom("batches:running");
}

/** Held (SET NX PX) by the one worker running a reconciliation pass. */
export function reconcileLockKey(keys: Keys): string {
  return keys.custom("batches:reconcile-lock");
}

/** Held (SET NX PX) by the one feeder moving items into this provider's queue. */
export function feedLockKey(keys: Keys, provider: ProviderName): string {
  return keys.custom(`batches:feed-lock:${provider}`);
}

/** Published (the providers, comma-separated) when a batch is stored: feeders start at once instead of at their next tick. */
export function batchWakeChannel(keys: Keys): string {
  return keys.custom("events:batches");
}

/** An owner's batches, newest last (score: created_at); the list route reads it backwards. */
export function ownerBatchesKey(keys: Keys, owner: string): string {
  return keys.custom(`batches:owner:${owner}`);
}

/**
 * The BullMQ job id of item `index` in retry round `round` (0: the first run): deterministic, so feeding the same item twice (a feeder that crashed
 * between adding and trimming) adds nothing. BullMQ refuses ':' in custom ids; '-' is fine.
 */
export function batchItemJobId(batchId: string, index: number, round = 0): string {
  // A retry round gets new ids: BullMQ keeps failed jobs, and would ignore an add under the failed job's id.
  return round > 0 ? `${batchId}-${index}-r${round}` : `${batchId}-${index}`;
}

/**
 * The BullMQ job id of a batch job of several items: the batch, the first and last item's index and the round.
 * Deterministic in the items it holds, like an item's id: a feeder that re-reads the same chunk builds the same
 * jobs again, and a chunk grouped otherwise gets other ids (its items may run twice; none is left out).
 */
export function batchGroupJobId(batchId: string, first: number, last: number, round = 0): string {
  return round > 0 ? `${batchId}-g${first}-${last}-r${round}` : `${batchId}-g${first}-${last}`;
}

export function parseBatchGroupJobId(jobId: string): { batchId: string; first: number; last: number; round: number } | undefined {
  const m = GROUP_JOB_ID.exec(jobId);
  return m === null ? undefined : { batchId: m[1] as string, first: Number(m[2]), last: Number(m[3]), round: Number(m[4] ?? 0) };
}

export function parseBatchItemJobId(jobId: string): { batchId: string; index: number; round: number } | undefined {
  const m = ITEM_JOB_ID.exec(jobId);
  return m === null ? undefined : { batchId: m[1] as string, index: Number(m[2]), round: Number(m[3] ?? 0) };
}
