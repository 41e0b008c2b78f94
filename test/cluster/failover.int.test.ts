import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchView } from "@llmq/shared";
import { startRedisCluster, type RedisClusterHandle } from "@llmq/shared/testing";
import { MODELS, mixedItem, startBatchHarness, type BatchHarness } from "../../services/api/test/batches/harness.js";

/**
 * The cluster project only (vitest.config.ts). A private cluster of 3 masters with a replica each; during a
 * 1,000-item batch, while sync requests keep arriving, masters fail over to their replicas: by CLUSTER FAILOVER
 * (the master hands over once its replica has every write), or killed (SIGKILL; the replica takes over after
 * cluster-node-timeout, 2 s here). Requests may answer 503 meanwhile; nothing accepted may be lost: every item
 * of the batch ends with exactly one result line, every accepted request's job with its completed record, and
 * the same llmq processes (never restarted) finish the work. How long requests saw 503s and how long the drain
 * stood still is printed: the README's "Redis Cluster" section quotes it.
 */
let h: BatchHarness | undefined;
let cluster: RedisClusterHandle | undefined;
afterEach(async () => {
  // The cluster's processes go whatever closing the stack says (a failed close must not leave redis-servers behind).
  try {
    await h?.close();
  } finally {
    await cluster?.stop();
    h = undefined;
    cluster = undefined;
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const N = 1000;

/** The port of the master serving `key`'s slot, asked of the node on `probePort`. */
async function masterPortOf(probePort: number, key: string): Promise<number> {
  const probe = new Redis({ port: probePort, host: "127.0.0.1" });
  try {
    const slot = Number(await probe.cluster("KEYSLOT", key));
    const ranges = (await probe.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (range === undefined) throw new Error(`no master serves slot ${slot}`);
    return range[2][1];
  } finally {
    probe.disconnect();
  }
}

async function replicaPortOf(c: RedisClusterHandle, masterPort: number): Promise<number> {
  for (const { port } of c.servers) {
    if (port === masterPort) continue;
    const node = new Redis({ port, host: "127.0.0.1", retryStrategy: () => null });
    node.on("error", () => undefined);
    try {
      const info = await node.info("replication");
      if (/role:slave/.test(info) && new RegExp(`master_port:${masterPort}\\b`).test(info)) return port;
    } catch {
      // a node killed earlier
    } finally {
      node.disconnect();
    }
  }
  throw new Error(`no replica of the master on port ${masterPort}`);
}

/** Resolves once the node on `port` is a master. */
async function untilMaster(port: number): Promise<void> {
  const node = new Redis({ port, host: "127.0.0.1" });
  try {
    for (let i = 0; i < 600 && !/role:master/.test(await node.info("replication")); i++) await sleep(50);
    expect(await node.info("replication")).toMatch(/role:master/);
  } finally {
    node.disconnect();
  }
}

interface Outcome {
  at: number;
  end: number;
  status: number;
  id: string | undefined;
  /** The body of an answer that is neither 200, 202 nor 503, to say what went wrong. */
  unexpected?: string;
}

/** The longest gap between two advances of the finished count that ends at or after `from`, up to the first advance after `to`. */
function longestStall(progress: readonly { at: number; done: number }[], from: number, to: number): number {
  let longest = 0;
  let lastMove = progress[0]?.at ?? from;
  for (let i = 1; i < progress.length; i++) {
    const [prev, p] = [progress[i - 1]!, progress[i]!];
    if (p.done === prev.done) continue;
    if (p.at >= from) longest = Math.max(longest, p.at - lastMove);
    lastMove = p.at;
    if (p.at > to) break;
  }
  return longest;
}

interface FailStep {
  /** Fraction of the batch finished when this step starts. */
  after: number;
  what: string;
  /** Which master, from the batch id and the harness. */
  master(h: BatchHarness, batchId: string, probePort: number): Promise<number>;
  how: "failover" | "kill";
}

/** A 1,000-item batch and a stream of sync requests through `steps`; checks that nothing is lost, prints the figures. */
async function drainThrough(steps: FailStep[]): Promise<void> {
  const c = (cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 }));
  h = await startBatchHarness("cluster-failover", { env: { REDIS_CLUSTER_NODES: c.nodesEnv, WORKER_CONCURRENCY: "4" }, workers: 2, sim: { latencyMs: 100 } });
  const harness = h;
  const { stack } = harness;
  const res = await harness.submit(Array.from({ length: N }, (_, i) => mixedItem(i)));
  expect(res.status, res.text).toBe(202);
  const id = (res.body as BatchView).id;

  // Requests all along, round-robin over the three providers: async ones (answered once enqueued, so every few
  // ms one probes whether the API can enqueue) and sync ones (waiting up to 10 s for the result).
  const outcomes: Outcome[] = [];
  let sending = true;
  const send = async (wait: number, pauseMs: number): Promise<void> => {
    for (let i = 0; sending; i++) {
      const at = Date.now();
      const r = await stack.request(`/api/v1/unstructured?wait=${wait}`, { body: { model: MODELS[i % 3], prompt: `during a failover ${wait} ${i}`, max_tokens: 20 } });
      const unexpected = [200, 202, 503].includes(r.status) ? {} : { unexpected: r.text.slice(0, 500) };
      outcomes.push({ at, end: Date.now(), status: r.status, id: r.body?.id ?? r.body?.error?.details?.job_id, ...unexpected });
      await sleep(pauseMs);
    }
  };
  const sender = Promise.all([send(0, 20), send(10, 10)]);
  // The drain's progress, sampled every 20 ms.
  const progress: { at: number; done: number }[] = [];
  const sampler = (async () => {
    for (let deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const v = await harness.view(id).catch(() => undefined);
      if (v !== undefined) {
        progress.push({ at: Date.now(), done: v.counts.completed + v.counts.failed });
        if (v.finished_at !== undefined) return;
      }
      await sleep(20);
    }
  })();

  const windows: { what: string; from: number; to: number }[] = [];
  try {
    for (const step of steps) {
      while ((progress.at(-1)?.done ?? 0) < N * step.after) await sleep(20);
      const live = c.servers.find((s) => !windows.some((w) => w.what.endsWith(`:${s.port}`)))?.port ?? (c.servers[0] as { port: number }).port;
      const master = await step.master(harness, id, live);
      const replica = await replicaPortOf(c, master);
      const from = Date.now();
      if (step.how === "failover") {
        const node = new Redis({ port: replica, host: "127.0.0.1" });
        await node.cluster("FAILOVER");
        node.disconnect();
      } else {
        await c.servers.find((s) => s.port === master)?.kill();
      }
      await untilMaster(replica);
      windows.push({ what: `${step.how === "kill" ? "killed" : "CLUSTER FAILOVER of"} ${step.what}:${master}`, from, to: Date.now() });
    }
    await sampler;
  } finally {
    sending = false;
    await sender;
  }

  // The batch: every item once, counts exact, no item missing or doubled.
  const final = await harness.view(id);
  expect(final.counts).toEqual({ total: N, queued: 0, active: 0, completed: N, failed: 0, cancelled: 0 });
  const lines = await harness.results(id);
  expect(lines).toHaveLength(N);
  expect(new Set(lines.map((l) => l.custom_id)).size).toBe(N);
  // The sync requests: accepted ones (200, or 202 past their wait) all have a completed record; the rest are 503s.
  const accepted = outcomes.filter((o) => o.status === 200 || o.status === 202);
  const unavailable = outcomes.filter((o) => o.status === 503);
  // Anything else is a bug: the API's error lines go into the message, to say which.
  const errors = JSON.stringify(stack.logs.filter((l) => l.level === "error").slice(0, 5));
  expect(outcomes.filter((o) => ![200, 202, 503].includes(o.status)), errors).toEqual([]);
  expect(accepted.length).toBeGreaterThan(0);
  for (const o of accepted) {
    const view = (await stack.request(`/api/v1/jobs/${o.id}?wait=10`)).body;
    expect(view?.status, `job ${o.id}`).toBe("completed");
  }

  const figures = windows.map((w) => {
    const refused = unavailable.filter((o) => o.end >= w.from - 1000 && o.at <= w.to + 10_000);
    const span = refused.length === 0 ? 0 : Math.max(...refused.map((o) => o.end)) - Math.min(...refused.map((o) => o.at));
    return `${w.what.replace(/:\d+$/, "")}: replica master after ${w.to - w.from} ms; ${refused.length} requests answered 503 over ${span} ms; the drain stood still at most ${longestStall(progress, w.from, w.to)} ms`;
  });
  console.log(`[failover] ${N} items, ${lines.length} result lines; ${outcomes.length} requests, ${accepted.length} accepted, ${unavailable.length} answered 503. ${figures.join(". ")}`);
}

const batchMaster: FailStep["master"] = (h, id, probe) => masterPortOf(probe, h.stack.keys.batch(id));
const openaiMaster: FailStep["master"] = (h, _id, probe) => masterPortOf(probe, `${h.stack.keys.queuePrefix("openai")}:jobs-openai:wait`);

describe("a Redis Cluster master failing over during a batch", () => {
  it("by CLUSTER FAILOVER (the batch's master, then the openai queue's): nothing accepted is lost, the same processes finish", async () => {
    await drainThrough([
      { after: 0.2, what: "the batch's master", master: batchMaster, how: "failover" },
      { after: 0.5, what: "the openai queue's master", master: openaiMaster, how: "failover" },
    ]);
  });

  it("killed (the openai queue's master, SIGKILL; its replica takes over after cluster-node-timeout): requests may answer 503 meanwhile, nothing accepted is lost", async () => {
    await drainThrough([{ after: 0.3, what: "the openai queue's master", master: openaiMaster, how: "kill" }]);
  });
});
