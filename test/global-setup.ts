import type { TestProject } from "vitest/node";
import { acquireTestRedis } from "@llmq/shared/testing";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** REDIS_CLUSTER_NODES of the cluster project's Redis Cluster; "" on a single Redis (test/redis-target.ts). */
    redisClusterNodes: string;
  }
}

/** One Redis for the whole run (see acquireTestRedis for the order it looks in). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await acquireTestRedis();
  project.provide("redisUrl", redis.url);
  project.provide("redisClusterNodes", "");
  return () => redis.stop();
}
