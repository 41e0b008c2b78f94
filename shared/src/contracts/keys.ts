import type { ProviderName } from "./providers.js";

/**
 * Every Redis key llmq writes, BullMQ's included. The layout spreads over a Redis Cluster's masters: keys
 * used together by one script or MULTI share a hash tag `{…}` of their own, and nothing else does:
 * - a provider's BullMQ queue: `${prefix}:{<provider>}:<queue>:…` (queuePrefix), one slot per provider;
 * - a job: its final record and its retry bookkeeping, `{<job id>}`, one slot per job;
 * - a batch: its meta hash, item states, result lines and pending lists, `{<batch id>}`, one slot per batch;
 * - a /v1 file: its meta hash, its upload and its content, `{<file id>}`, one slot per file;
 * - every streamed job's Redis Stream: `{streams}`, one slot for all, because an API reads all of its open
 *   streams with one XREAD (compat/stream-reader.ts), which a cluster serves only within one slot;
 * - every other key stands alone (one-key commands and scripts only), so it lands wherever its name hashes.
 * On a single Redis the braces are just characters. A prefix that carries a hash tag itself (`{llmq}`) puts
 * every key in that one slot: it still works on a cluster, on one master.
 */
export interface Keys {
  readonly prefix: string;
  /** BullMQ's `prefix` option for this provider's queue: the queue's keys share the provider's slot. */
  queuePrefix(provider: ProviderName): string;
  /** FinalJobRecord JSON, TTL RESULT_TTL_S. Same slot as jobState(jobId). */
  result(jobId: string): string;
  /** A streamed job's pieces (Redis Stream), TTL STREAM_TTL_S (contracts/chat.ts). One slot for every stream. */
  stream(jobId: string): string;
  /** Pub/sub channel: the id of every job that reached a final state. */
  doneChannel(): string;
  /** Worker-side retry bookkeeping of a job that did not finish on its first try (first start, 429 count). */
  jobState(jobId: string): string;
  /** Idempotency-Key → job id, TTL 24 h. Owner-scoped. */
  idempotency(ownerHash: string, keyHash: string): string;
  /** Response cache: cache key → FinalJobRecord JSON. */
  cache(cacheKey: string): string;
  /** Registered schema, owner-scoped. */
  schema(ownerHash: string, schemaId: string): string;
  /** Per-key rate limit window counter. */
  rate(ownerHash: string, window: number): string;
  /** Batch state hash and its item lists: one slot per batch. */
  batch(batchId: string): string;
  batchPart(batchId: string, part: string): string;
  /** A file uploaded to POST /v1/files: meta hash; its bytes under filePart(id, "content"); one slot per file. TTL FILE_TTL_S. */
  file(fileId: string): string;
  filePart(fileId: string, part: string): string;
  /** An owner's uploaded files (sorted set, score: created_at ms). */
  ownerFiles(owner: string): string;
  /** A batch created through /v1 (OpenAI or Anthropic Batch API): its dialect and request fields. TTL FILE_TTL_S. */
  compatBatch(batchId: string): string;
  /** An owner's /v1 batches of one dialect (sorted set, score: created_at ms), for listing. */
  ownerCompatBatches(owner: string, dialect: string): string;
  /**
   * Hash: the id of each request of a sync job of several requests (contracts/sync-group.ts) → `<provider>
   * <job id>`, so GET and DELETE /jobs/{id} find a request while its shared job waits or runs. Written by the API
   * with the add, its fields deleted by the worker once the job's requests are done.
   */
  syncGrouped(): string;
  /** Any other llmq-owned key: `${prefix}:${name}`. */
  custom(name: string): string;
}

export function createKeys(prefix: string): Keys {
  const p = prefix;
  return {
    prefix: p,
    queuePrefix: (provider) => `${p}:{${provider}}`,
    result: (id) => `${p}:result:{${id}}`,
    stream: (id) => `${p}:stream:{streams}:${id}`,
    doneChannel: () => `${p}:events:done`,
    jobState: (id) => `${p}:jobstate:{${id}}`,
    idempotency: (owner, key) => `${p}:idem:${owner}:${key}`,
    cache: (key) => `${p}:cache:${key}`,
    schema: (owner, id) => `${p}:schema:${owner}:${id}`,
    rate: (owner, window) => `${p}:rate:${owner}:${window}`,
    batch: (id) => `${p}:batch:{${id}}`,
    batchPart: (id, part) => `${p}:batch:{${id}}:${part}`,
    file: (id) => `${p}:file:{${id}}`,
    filePart: (id, part) => `${p}:file:{${id}}:${part}`,
    ownerFiles: (owner) => `${p}:files:${owner}`,
    compatBatch: (id) => `${p}:compat-batch:${id}`,
    ownerCompatBatches: (owner, dialect) => `${p}:compat-batches:${dialect}:${owner}`,
    syncGrouped: () => `${p}:sync-grouped`,
    custom: (name) => `${p}:${name}`,
  };
}
