import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeQuietly, createProducerConnection, waitForReady, type RedisConnection } from "@llmq/shared";
import { testRedisTarget } from "../../../test/redis-target.js";
import { toAppError } from "../src/http/errors.js";

/**
 * What a Redis Cluster's client throws while a master fails over is a 503 (QUEUE_UNAVAILABLE: nothing was
 * enqueued, retry), never a 500, even though the connection itself stays ready. The failover test
 * (test/cluster/failover.int.test.ts) met the pipeline one for real: an auto-pipeline whose every command was
 * redirected cannot be re-sent whole once its keys sit on several masters.
 */
let redis: RedisConnection;
beforeAll(async () => {
  redis = createProducerConnection(testRedisTarget());
  await waitForReady(redis);
});
afterAll(() => closeQuietly(redis));

describe("errors of a cluster that is failing over", () => {
  it.each([
    "All keys in the pipeline should belong to the same slots allocation group",
    "Too many Cluster redirections. Last error: Error: Connection is closed.",
    "Failed to refresh slots cache.",
    "CLUSTERDOWN The cluster is down",
    "TRYAGAIN Multiple keys request during rehashing of slot",
  ])("%s → 503 QUEUE_UNAVAILABLE", (message) => {
    expect(redis.status).toBe("ready");
    const e = toAppError(new Error(message), redis, 1024);
    expect(e.code).toBe("QUEUE_UNAVAILABLE");
    expect(e.status).toBe(503);
  });

  it("an error of our own on a ready connection stays a 500 INTERNAL", () => {
    expect(toAppError(new Error("boom"), redis, 1024)).toMatchObject({ code: "INTERNAL", status: 500 });
  });
});
