import { afterEach, describe, expect, it } from "vitest";
import { PROVIDERS, isCluster, masterNodes, type BatchView } from "@llmq/shared";
import { mixedItem, startBatchHarness, type BatchHarness } from "../../services/api/test/batches/harness.js";
import { MODELS } from "../../services/api/test/batches/harness.js";

/**
 * The cluster project only (vitest.config.ts): llmq on a 3-master Redis Cluster uses the cluster client in every
 * process and spreads its keys over the masters (contracts/keys.ts): each provider queue in a slot of its own,
 * each job's record and each batch in theirs.
 */
let h: BatchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The keys under `pattern` on each master, one list per master. */
async function keysPerMaster(h: BatchHarness, pattern: string): Promise<string[][]> {
  return Promise.all(
    masterNodes(h.stack.redis).map(async (node) => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== "0");
      return found;
    }),
  );
}

describe("llmq on a Redis Cluster", () => {
  it("the API, its result waiter, the worker and its feeder all use the cluster client; jobs and batches complete; keys spread over the three masters", async () => {
    h = await startBatchHarness("cluster-spread");
    const { stack } = h;
    expect(isCluster(stack.runtime.deps.redis)).toBe(true);
    expect(isCluster(h.workers[0]?.redis as never)).toBe(true);
    expect(masterNodes(stack.redis)).toHaveLength(3);

    const sync = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stack.request("/api/v1/unstructured", { body: { model: MODELS[i % 3], prompt: `cluster job ${i}`, max_tokens: 20 } })),
    );
    for (const r of sync) expect(r.status, r.text).toBe(200);
    const batchIds: string[] = [];
    for (let b = 0; b < 6; b++) {
      const res = await h.submit(Array.from({ length: 9 }, (_, i) => mixedItem(i, ` b${b}`)));
      expect(res.status, res.text).toBe(202);
      batchIds.push((res.body as BatchView).id);
    }
    for (const id of batchIds) expect((await h.waitFinal(id)).final.counts).toMatchObject({ total: 9, completed: 9 });

    const prefix = stack.config.redis.prefix;
    // Each provider's BullMQ keys on one master, and the three providers on three different masters.
    const queueMasters = await Promise.all(
      PROVIDERS.map(async (p) => (await keysPerMaster(h!, `${stack.keys.queuePrefix(p)}:*`)).flatMap((keys, node) => (keys.length > 0 ? [node] : []))),
    );
    for (const nodes of queueMasters) expect(nodes).toHaveLength(1);
    expect(new Set(queueMasters.flat()).size).toBe(3);
    // Job records: on every master. A batch's keys: all on one master; the six batches on more than one.
    const records = await keysPerMaster(h, `${prefix}:result:*`);
    expect(records.flat()).toHaveLength(30);
    for (const onNode of records) expect(onNode.length).toBeGreaterThan(0);
    const batchMasters = await Promise.all(
      batchIds.map(async (id) => (await keysPerMaster(h!, `${prefix}:batch:{${id}}*`)).flatMap((keys, node) => (keys.length > 0 ? [node] : []))),
    );
    for (const nodes of batchMasters) expect(nodes).toHaveLength(1);
    expect(new Set(batchMasters.flat()).size).toBeGreaterThan(1);

    // Health reads every queue's counts and finds the worker's connections on the masters that hold its queues.
    const health = await stack.request("/api/v1/health");
    expect(health.status, health.text).toBe(200);
    expect(health.body.queues["jobs-openai"].workers).toBeGreaterThanOrEqual(1);
  });
});
