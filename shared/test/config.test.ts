import { describe, expect, it } from "vitest";
import type { Cluster } from "ioredis";
import { ConfigError, hashSecret, parseConfig } from "../src/config/index.js";
import { createProducerConnection, createWorkerConnection, describeRedisTarget, isCluster } from "../src/redis/index.js";

describe("config", () => {
  it("uses the documented defaults when nothing is set", () => {
    const c = parseConfig({});
    expect(c.api.port).toBe(8000);
    expect(c.redis).toEqual({ url: "redis://127.0.0.1:6379", prefix: "llmq" });
    expect(c.providerMode).toBe("auto");
    expect(c.jobs.resultTtlS).toBe(86_400);
    expect(c.jobs.structuredMaxRepairs).toBe(2);
    expect(c.batch.maxItems).toBe(10_000);
  });

  it("fails once, naming every bad variable and its fix", () => {
    let err: unknown;
    try {
      parseConfig({ PORT: "abc", REDIS_URL: "nope", PROVIDER_MODE: "sometimes", BATCH_MAX_ITEMS: "60000" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(issues).toEqual(["BATCH_MAX_ITEMS", "PORT", "PROVIDER_MODE", "REDIS_URL"]);
    expect((err as ConfigError).message).toContain("Fix: set PORT to an integer");
  });

  it("REDIS_CLUSTER_NODES puts llmq on a Redis Cluster; a bad node is named with the fix; unset or empty means one Redis", () => {
    expect(parseConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-b:7001,[::1]:7002" }).redis.clusterNodes).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-b", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(parseConfig({ REDIS_CLUSTER_NODES: "" }).redis.clusterNodes).toBeUndefined();
    for (const bad of ["10.0.0.1", "host:0", "host:70000", "redis://host:7000"]) {
      let err: unknown;
      try {
        parseConfig({ REDIS_CLUSTER_NODES: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([expect.objectContaining({ variable: "REDIS_CLUSTER_NODES", fix: expect.stringContaining("host:port") })]);
    }
  });

  it("on a cluster, REDIS_URL's user, password and TLS apply to every node; the connection's roles are kept", () => {
    const config = parseConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000", REDIS_URL: "rediss://llmq:s%40cret@ignored:6380" });
    const producer = createProducerConnection(config.redis, { lazyConnect: true });
    const worker = createWorkerConnection(config.redis, { lazyConnect: true });
    try {
      expect(isCluster(producer) && isCluster(worker)).toBe(true);
      const [p, w] = [producer as Cluster, worker as Cluster];
      expect(p.options.redisOptions).toMatchObject({ username: "llmq", password: "s@cret", tls: {}, maxRetriesPerRequest: 1 });
      expect(p.options.enableOfflineQueue).toBe(false);
      expect(w.options.redisOptions).toMatchObject({ username: "llmq", password: "s@cret", tls: {}, maxRetriesPerRequest: null });
      expect(w.options.enableOfflineQueue).toBe(true);
      expect(describeRedisTarget(config.redis)).toBe("cluster 10.0.0.1:7000");
      expect(describeRedisTarget(parseConfig({ REDIS_URL: "redis://u:pw@h:1" }).redis)).not.toContain("pw");
    } finally {
      producer.disconnect();
      worker.disconnect();
    }
  });

  it("keeps only hashes of client keys, never the keys", () => {
    const c = parseConfig({ API_KEY: "secret-one", API_KEYS: "alice:k-alice,bob:k-bob" });
    expect(c.api.keys).toEqual([
      { name: "default", hash: hashSecret("secret-one") },
      { name: "alice", hash: hashSecret("k-alice") },
      { name: "bob", hash: hashSecret("k-bob") },
    ]);
    expect(JSON.stringify(c.api)).not.toContain("secret-one");
  });

  it("simulates a provider without a key in auto mode, and requires keys in live mode", () => {
    const auto = parseConfig({ OPENAI_API_KEY: "sk-live", SIMULATOR_URL: "http://127.0.0.1:9999" });
    expect(auto.providers.openai.simulated).toBe(false);
    expect(auto.providers.openai.baseUrl).toBe("https://api.openai.com/v1");
    expect(auto.providers.anthropic.simulated).toBe(true);
    expect(auto.providers.anthropic.baseUrl).toBe("http://127.0.0.1:9999");
    expect(() => parseConfig({ PROVIDER_MODE: "live", OPENAI_API_KEY: "x" })).toThrow(/ANTHROPIC_API_KEY/);
    const sim = parseConfig({ PROVIDER_MODE: "simulate", OPENAI_API_KEY: "sk-live" });
    expect(sim.providers.openai.simulated).toBe(true);
  });

  it("accepts a Redis Cluster hash tag as prefix and refuses a colon", () => {
    expect(parseConfig({ REDIS_PREFIX: "{llmq}" }).redis.prefix).toBe("{llmq}");
    expect(() => parseConfig({ REDIS_PREFIX: "a:b" })).toThrow(/REDIS_PREFIX/);
  });
});
