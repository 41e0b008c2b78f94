import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { RedisSettings } from "../config/config.js";

/**
 * Two Redis roles (BullMQ's going-to-production guide), on a single Redis or on a Redis Cluster alike:
 * - producer (API): fails fast. No offline queue, one retry per command, short connect timeout, so a
 *   Redis outage becomes a 503 within a second instead of a hung request. On a cluster a command sent while
 *   its master fails over is retried by ioredis for at most MAX_REDIRECTIONS × FAILOVER_RETRY_MS, then fails.
 * - worker / subscriber: waits. Commands are retried forever while Redis comes back, as BullMQ requires.
 *
 * Where they connect is `RedisTarget`: a URL (a single Redis), or the config's redis settings, which name a
 * cluster's nodes when REDIS_CLUSTER_NODES is set; then REDIS_URL's user and password (and `rediss:`, TLS) apply
 * to every node, as managed clusters need. Code that takes a connection takes `RedisConnection`
 * (either client) and uses only what both have; a cluster needs the keys of one command, script or MULTI in
 * one hash slot (contracts/keys.ts says which keys share one).
 */
export type RedisConnection = Redis | Cluster;
export type RedisTarget = string | Pick<RedisSettings, "url" | "clusterNodes">;

/** Per-node options the cluster client does not take at its top level. */
type NodeOptions = NonNullable<ClusterOptions["redisOptions"]>;

const FAILOVER_RETRY_MS = 100;
const MAX_REDIRECTIONS = 16;

export function createProducerConnection(target: RedisTarget, extra: RedisOptions = {}): RedisConnection {
  const nodes = clusterNodesOf(target);
  if (nodes !== undefined) {
    return new Cluster(nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
      retryDelayOnFailover: FAILOVER_RETRY_MS,
      retryDelayOnClusterDown: FAILOVER_RETRY_MS,
      retryDelayOnTryAgain: FAILOVER_RETRY_MS,
      maxRedirections: MAX_REDIRECTIONS,
      slotsRefreshTimeout: 1000,
      ...clusterTopLevel(extra),
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 2000, ...credentialsOf(target), ...nodeOptions(extra) },
    });
  }
  return new Redis(urlOf(target), {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...extra,
  });
}

export function createWorkerConnection(target: RedisTarget, extra: RedisOptions = {}): RedisConnection {
  const nodes = clusterNodesOf(target);
  if (nodes !== undefined) {
    return new Cluster(nodes, {
      enableOfflineQueue: true,
      enableReadyCheck: true,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      retryDelayOnFailover: FAILOVER_RETRY_MS,
      retryDelayOnClusterDown: FAILOVER_RETRY_MS,
      retryDelayOnTryAgain: FAILOVER_RETRY_MS,
      // A failover takes seconds (cluster-node-timeout, or a manual CLUSTER FAILOVER): a waiting connection
      // keeps redirecting for that long instead of failing the command after 16 tries.
      maxRedirections: 1000,
      ...clusterTopLevel(extra),
      redisOptions: { maxRetriesPerRequest: null, ...credentialsOf(target), ...nodeOptions(extra) },
    });
  }
  return new Redis(urlOf(target), {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}

/** A second connection to the same place with the same role; `connectionName` names it in CLIENT LIST. */
export function duplicateConnection(redis: RedisConnection, connectionName: string): RedisConnection {
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, { ...redis.options, redisOptions: { ...redis.options.redisOptions, connectionName } });
  }
  return redis.duplicate({ connectionName });
}

/** The cluster's masters, or the one server: where per-node commands (SCAN, INFO, CONFIG) must be sent. */
export function masterNodes(redis: RedisConnection): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

export function isCluster(redis: RedisConnection): redis is Cluster {
  return redis instanceof Cluster;
}

/** Where a connection goes, fit for logs: the URL without its password, or the cluster's seed nodes. */
export function describeRedisTarget(target: RedisTarget): string {
  const nodes = clusterNodesOf(target);
  if (nodes !== undefined) return `cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
  return redactRedisUrl(urlOf(target));
}

function clusterNodesOf(target: RedisTarget): { host: string; port: number }[] | undefined {
  return typeof target === "string" || target.clusterNodes === undefined || target.clusterNodes.length === 0 ? undefined : target.clusterNodes;
}

/** REDIS_URL's user, password and TLS (`rediss:`), for every node of a cluster. */
function credentialsOf(target: RedisTarget): NodeOptions {
  try {
    const u = new URL(urlOf(target));
    return {
      ...(u.username !== "" && { username: decodeURIComponent(u.username) }),
      ...(u.password !== "" && { password: decodeURIComponent(u.password) }),
      ...(u.protocol === "rediss:" && { tls: {} }),
    };
  } catch {
    return {};
  }
}

function urlOf(target: RedisTarget): string {
  return typeof target === "string" ? target : target.url;
}

/** The options the cluster client takes at its top level (the rest go to every node's connection). */
function clusterTopLevel(extra: RedisOptions): Partial<ClusterOptions> {
  const out: Partial<ClusterOptions> = {};
  if (extra.enableAutoPipelining !== undefined) out.enableAutoPipelining = extra.enableAutoPipelining;
  if (extra.lazyConnect !== undefined) out.lazyConnect = extra.lazyConnect;
  if (extra.enableOfflineQueue !== undefined) out.enableOfflineQueue = extra.enableOfflineQueue;
  return out;
}

function nodeOptions(extra: RedisOptions): NodeOptions {
  const { enableAutoPipelining: _a, lazyConnect: _l, enableOfflineQueue: _o, retryStrategy: _s, ...rest } = extra;
  return rest as NodeOptions;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: RedisConnection, timeoutMs = 5000): Promise<void> {
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
export async function closeQuietly(redis: RedisConnection | undefined, quitTimeoutMs = 2_000): Promise<void> {
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
