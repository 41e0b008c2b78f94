import type { RedisConnection } from "@llmq/shared";
import type { Keys } from "@llmq/shared";

/**
 * Bookkeeping for jobs that did not finish on their first try, in one small hash per job
 * (`keys.jobState(id)`): when the job first started (BullMQ's processedOn moves with every attempt) and how
 * many 429s it met and when its current streak of them began (BullMQ does not count a RateLimitError as an
 * attempt: llmq gives up on a job only after RATE_LIMIT_MAX_WAIT_S in which its model answered nothing).
 * Written only on the unhappy path: a job that succeeds first time costs no extra Redis command.
 * finalize.ts deletes it with the final record.
 */
export async function recordSetback(redis: RedisConnection, keys: Keys, jobId: string, firstStartedAt: number, ttlS: number): Promise<void> {
  const key = keys.jobState(jobId);
  await redis.pipeline().hsetnx(key, "first_started", String(firstStartedAt)).expire(key, ttlS).exec();
}

/**
 * A 429 for this job: counts it and returns when its current streak of 429s began. A streak ends when the
 * provider has answered the job's model since it began (`answeredAt`, from the capacity buckets): the job
 * then starts a new one, so only a provider that answers nothing for RATE_LIMIT_MAX_WAIT_S fails it.
 */
export async function recordRateLimited(redis: RedisConnection, keys: Keys, jobId: string, firstStartedAt: number, ttlS: number, answeredAt: number): Promise<{ hits: number; streakSince: number }> {
  const key = keys.jobState(jobId);
  const now = Date.now();
  const res = await redis.pipeline().hsetnx(key, "first_started", String(firstStartedAt)).hincrby(key, "rate_limited", 1)
    .hsetnx(key, "first_rate_limited", String(now)).hget(key, "first_rate_limited").expire(key, ttlS).exec();
  const hits = Number(res?.[1]?.[1] ?? 0);
  const since = Number(res?.[3]?.[1] ?? now);
  if (!Number.isFinite(since) || answeredAt > since) {
    await redis.hset(key, "first_rate_limited", String(now));
    return { hits, streakSince: now };
  }
  return { hits, streakSince: since };
}

export async function firstStartedAt(redis: RedisConnection, keys: Keys, jobId: string): Promise<number | undefined> {
  const v = await redis.hget(keys.jobState(jobId), "first_started");
  return v === null ? undefined : Number(v);
}
