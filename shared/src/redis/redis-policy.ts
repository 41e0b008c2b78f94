import type { RedisConnection } from "./connections.js";
import type { Logger } from "../logger/index.js";

/**
 * BullMQ needs `maxmemory-policy noeviction`: under any other policy a full Redis evicts job keys, and an
 * evicted job is a job silently lost. Managed Redis often disables CONFIG, so INFO is asked when it fails.
 */
export async function readMaxmemoryPolicy(redis: RedisConnection): Promise<string | undefined> {
  try {
    const reply = (await redis.call("CONFIG", "GET", "maxmemory-policy")) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === "string") return reply[1];
  } catch {
    // CONFIG is renamed or refused on many managed services: INFO memory says the same thing
  }
  try {
    const info = await redis.info("memory");
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/** Logs a warning (with the fix) when the policy is not noeviction; never throws. */
export async function warnUnlessNoeviction(redis: RedisConnection, logger: Logger): Promise<string | undefined> {
  const policy = await readMaxmemoryPolicy(redis);
  if (policy === undefined) {
    logger.info("could not read Redis's maxmemory-policy (CONFIG and INFO refused); BullMQ needs noeviction");
  } else if (policy !== "noeviction") {
    logger.warn(
      { maxmemory_policy: policy },
      `Redis's maxmemory-policy is ${policy}: a full Redis will evict queued jobs. Fix: set maxmemory-policy noeviction (redis-server --maxmemory-policy noeviction, or your provider's parameter group)`,
    );
  }
  return policy;
}
