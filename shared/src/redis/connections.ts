import { Redis, type RedisOptions } from "ioredis";

/**
 * Two Redis roles (BullMQ's going-to-production guide):
 * - producer (API): fails fast. No offline queue, one retry per command, short connect timeout, so a
 *   Redis outage becomes a 503 within a second instead of a hung request.
 * - worker / subscriber: waits. Commands are retried forever while Redis comes back, as BullMQ requires.
 */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...extra,
  });
}

export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/**
 * Closes a connection whatever state it is in; never throws, never hangs. A QUIT that gets no reply within
 * `quitTimeoutMs` (a Redis that stopped answering: a worker connection retries forever) becomes a disconnect.
 */
export async function closeQuietly(redis: Redis | undefined, quitTimeoutMs = 2_000): Promise<void> {
  if (redis === undefined) return;
  if (redis.status !== "ready") return redis.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const noReply = new Promise<"no reply">((resolve) => {
    timer = setTimeout(() => resolve("no reply"), quitTimeoutMs);
  });
  try {
    if ((await Promise.race([redis.quit(), noReply])) === "no reply") redis.disconnect();
  } catch {
    redis.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** A URL fit for logs: the password, if any, is removed. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://[invalid]";
  }
}
