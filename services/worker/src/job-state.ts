import type { Redis } from "ioredis";
import type { Keys } from "@llmq/shared";

/**
 * Bookkeeping for jobs that did not finish on their first try, in one small hash per job
 * (`keys.jobState(id)`): when the job first started (BullMQ's processedOn moves with every attempt) and how
 * many 429s it met (BullMQ does not count a RateLimitError as an attempt, so llmq caps them itself).
 * Written only on the unhappy path: a job that succeeds first time costs no extra Redis command.
 * finalize.ts deletes it with the final record.
 */
export async function recordSetback(redis: Redis, keys: Keys, jobId: string, firstStartedAt: number, ttlS: number, rateLimited: boolean): Promise<number> {
  const key = keys.jobState(jobId);
  const pipe = redis.pipeline().hsetnx(key, "first_started", String(firstStartedAt));
  pipe.hincrby(key, "rate_limited", rateLimited ? 1 : 0).expire(key, ttlS);
  const res = await pipe.exec();
  const hits = res?.[1]?.[1];
  return typeof hits === "number" ? hits : Number(hits ?? 0);
}

export async function firstStartedAt(redis: Redis, keys: Keys, jobId: string): Promise<number | undefined> {
  const v = await redis.hget(keys.jobState(jobId), "first_started");
  return v === null ? undefined : Number(v);
}
