import type { Redis } from "ioredis";
import type { Keys } from "@llmq/shared";

/**
 * Bookkeeping for jobs that did not finish on their first try, in one small hash per job
 * (`keys.jobState(id)`): when the job first started (BullMQ's processedOn moves with every attempt) and how
 * many 429s it met and when the first came (BullMQ does not count a RateLimitError as an attempt: llmq gives up
 * on a job only after RATE_LIMIT_MAX_WAIT_S of 429s).
 * Written only on the unhappy path: a job that succeeds first time costs no extra Redis command.
 * finalize.ts deletes it with the final record.
 */
export async function recordSetback(redis: Redis, keys: Keys, jobId: string, firstStartedAt: number, ttlS: number, rateLimited: boolean): Promise<{ hits: number; firstRateLimitedAt: number }> {
  const key = keys.jobState(jobId);
  const now = Date.now();
  const pipe = redis.pipeline().hsetnx(key, "first_started", String(firstStartedAt));
  pipe.hincrby(key, "rate_limited", rateLimited ? 1 : 0);
  if (rateLimited) pipe.hsetnx(key, "first_rate_limited", String(now));
  pipe.hget(key, "first_rate_limited").expire(key, ttlS);
  const res = await pipe.exec();
  const hits = Number(res?.[1]?.[1] ?? 0);
  const first = Number(res?.[rateLimited ? 3 : 2]?.[1] ?? now);
  return { hits, firstRateLimitedAt: Number.isFinite(first) && first > 0 ? first : now };
}

export async function firstStartedAt(redis: Redis, keys: Keys, jobId: string): Promise<number | undefined> {
  const v = await redis.hget(keys.jobState(jobId), "first_started");
  return v === null ? undefined : Number(v);
}
