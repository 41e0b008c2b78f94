import type { TestProject } from "vitest/node";
import { acquireTestRedis, startRedisCluster } from "@llmq/shared/testing";

/**
 * The "cluster" project: a private Redis Cluster of 3 masters on free loopback ports (redis-server and redis-cli,
 * no Docker), for the suites that run on both. The single test Redis is provided too, for what needs one.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, cluster] = await Promise.all([acquireTestRedis(), startRedisCluster({ masters: 3 })]);
  project.provide("redisUrl", redis.url);
  project.provide("redisClusterNodes", cluster.nodesEnv);
  return async () => {
    await cluster.stop();
    await redis.stop();
  };
}
