/**
 * Every Redis key llmq writes (besides BullMQ's own, which BullMQ namespaces with the same prefix).
 * The prefix may carry a Redis Cluster hash tag, e.g. `{llmq}`, so every key lands on one slot.
 */
export interface Keys {
  readonly prefix: string;
  /** FinalJobRecord JSON, TTL RESULT_TTL_S. */
  result(jobId: string): string;
  /** A streamed job's pieces (Redis Stream), TTL STREAM_TTL_S (contracts/chat.ts). */
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
  /** Batch state hash and its item lists. */
  batch(batchId: string): string;
  batchPart(batchId: string, part: string): string;
  /** A file uploaded to POST /v1/files: meta hash; its bytes under filePart(id, "content"). TTL FILE_TTL_S. */
  file(fileId: string): string;
  filePart(fileId: string, part: string): string;
  /** An owner's uploaded files (sorted set, score: created_at ms). */
  ownerFiles(owner: string): string;
  /** A batch created through /v1 (OpenAI or Anthropic Batch API): its dialect and request fields. TTL FILE_TTL_S. */
  compatBatch(batchId: string): string;
  /** An owner's /v1 batches of one dialect (sorted set, score: created_at ms), for listing. */
  ownerCompatBatches(owner: string, dialect: string): string;
  /** Any other llmq-owned key: `${prefix}:${name}`. */
  custom(name: string): string;
}

export function createKeys(prefix: string): Keys {
  const p = prefix;
  return {
    prefix: p,
    result: (id) => `${p}:result:${id}`,
    stream: (id) => `${p}:stream:${id}`,
    doneChannel: () => `${p}:events:done`,
    jobState: (id) => `${p}:jobstate:${id}`,
    idempotency: (owner, key) => `${p}:idem:${owner}:${key}`,
    cache: (key) => `${p}:cache:${key}`,
    schema: (owner, id) => `${p}:schema:${owner}:${id}`,
    rate: (owner, window) => `${p}:rate:${owner}:${window}`,
    batch: (id) => `${p}:batch:${id}`,
    batchPart: (id, part) => `${p}:batch:${id}:${part}`,
    file: (id) => `${p}:file:${id}`,
    filePart: (id, part) => `${p}:file:${id}:${part}`,
    ownerFiles: (owner) => `${p}:files:${owner}`,
    compatBatch: (id) => `${p}:compat-batch:${id}`,
    ownerCompatBatches: (owner, dialect) => `${p}:compat-batches:${dialect}:${owner}`,
    custom: (name) => `${p}:${name}`,
  };
}
