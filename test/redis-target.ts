import { inject } from "vitest";
import { createWorkerConnection, type RedisConnection, type RedisSettings } from "@llmq/shared";

/**
 * The Redis this vitest project runs on: the single test Redis (project "single"), or the private 3-master Redis
 * Cluster that global-setup-cluster.ts starts (project "cluster"). Suites written against these three run on both.
 */
export function onCluster(): boolean {
  return inject("redisClusterNodes") !== "";
}

/** REDIS_URL, and REDIS_CLUSTER_NODES on the cluster project: the environment a service of the test is given. */
export function testRedisEnv(): { REDIS_URL: string; REDIS_CLUSTER_NODES?: string } {
  const nodes = inject("redisClusterNodes");
  return { REDIS_URL: inject("redisUrl"), ...(nodes !== "" && { REDIS_CLUSTER_NODES: nodes }) };
}

export function testRedisTarget(): Pick<RedisSettings, "url" | "clusterNodes"> {
  const nodes = inject("redisClusterNodes");
  if (nodes === "") return { url: inject("redisUrl") };
  return { url: inject("redisUrl"), clusterNodes: nodes.split(",").map((n) => ({ host: n.split(":")[0] as string, port: Number(n.split(":")[1]) })) };
}

/** A connection for the test's own reads and writes (waits for Redis, like a worker's). */
export function connectTestRedis(): RedisConnection {
  return createWorkerConnection(testRedisTarget());
}
