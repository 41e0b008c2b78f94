import { masterNodes, type RedisConnection } from "./connections.js";

/**
 * Deletes every key under `${prefix}:` with SCAN + UNLINK, never FLUSH: the Redis may be shared with other
 * runs (tests, benches). On a cluster every master is scanned (SCAN sees one node's keys; a master that does not
 * answer is skipped) and each key is unlinked on its own (UNLINK of several keys must stay in one slot). Returns
 * how many keys it deleted.
 */
export async function deletePrefix(redis: RedisConnection, prefix: string): Promise<number> {
  let deleted = 0;
  for (const node of masterNodes(redis)) {
    if (node !== redis && node.status !== "ready") continue;
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      if (node === redis) deleted += await node.unlink(...keys);
      // Through the cluster client: it routes each key to its slot's master as it is now (after a failover the
      // node scanned may have become a replica).
      else deleted += (await Promise.all(keys.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0);
    } while (cursor !== "0");
  }
  return deleted;
}
