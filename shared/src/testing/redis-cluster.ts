import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { startRedisServer } from "./redis-fixture.js";

/**
 * A private Redis Cluster for tests and benches: `masters` masters (and `replicasPerMaster` replicas each) on free
 * loopback ports, non-persistent, in a temporary directory, made a cluster by `redis-cli --cluster create`.
 * No Docker: needs `redis-server` and `redis-cli` on PATH. Resolves once every node sees the cluster as ok and
 * every replica is in sync with its master.
 */
export interface ClusterNodeHandle {
  port: number;
  /** SIGKILLs the node (a crash); resolves when it is gone. */
  kill(): Promise<void>;
}

export interface RedisClusterHandle {
  /** host:port of every node, for REDIS_CLUSTER_NODES. */
  nodes: { host: string; port: number }[];
  /** REDIS_CLUSTER_NODES's value for this cluster. */
  nodesEnv: string;
  servers: ClusterNodeHandle[];
  stop(): Promise<void>;
}

const exec = promisify(execFile);

export async function startRedisCluster(opts: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const dir = await mkdtemp(join(tmpdir(), "llmq-cluster-"));
  const servers: Awaited<ReturnType<typeof startRedisServer>>[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      servers.push(
        await startRedisServer([
          "--cluster-enabled", "yes",
          "--cluster-config-file", join(dir, `nodes-${i}.conf`),
          "--cluster-node-timeout", String(opts.nodeTimeoutMs ?? 2000),
          "--dir", dir,
          "--maxmemory-policy", "noeviction",
        ], { clusterBus: true }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await exec("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: 30_000 });
    await waitUntilSettled(servers.map((s) => s.port), replicas > 0);
  } catch (err) {
    await stop();
    throw new Error(`could not start a Redis Cluster (needs redis-server and redis-cli on PATH): ${(err as Error).message}`);
  }
  const nodes = servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    servers: servers.map((s) => ({ port: s.port, kill: s.stop })),
    stop,
  };
}

async function waitUntilSettled(ports: number[], withReplicas: boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const conns = ports.map((port) => new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 }));
  try {
    for (;;) {
      const infos = await Promise.all(conns.map((c) => c.cluster("INFO") as Promise<string>));
      const roles = withReplicas ? await Promise.all(conns.map((c) => c.info("replication"))) : [];
      const ok = infos.every((i) => /cluster_state:ok/.test(i) && /cluster_known_nodes:(\d+)/.exec(i)?.[1] === String(ports.length));
      const synced = roles.every((r) => !/role:slave/.test(r) || /master_link_status:up/.test(r));
      if (ok && synced) return;
      if (Date.now() > deadline) throw new Error("the cluster did not settle within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of conns) c.disconnect();
  }
}
