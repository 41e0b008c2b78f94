import { createServer } from "node:http";
import { ConfigError, PROVIDERS, createLogger, loadConfig, describeRedisTarget, warnUnlessNoeviction, type Config } from "@llmq/shared";
import { createApp } from "./app.js";
import { createApiRuntime } from "./runtime.js";

/**
 * The API process: config -> runtime -> createApp -> listen, and shutdown. On SIGTERM/SIGINT: stop accepting,
 * let sync waits finish within API_SHUTDOWN_GRACE_MS, hand the rest over with a 202 (their jobs go on in
 * the workers), then close the subscriber, queues and Redis. A second signal exits at once.
 */
function readConfig(): Config {
  try {
    const config = loadConfig();
    if (config.api.keys.length === 0) {
      throw new Error("llmq api: no API key is configured. Fix: set API_KEY=<key> (one key) or API_KEYS=name:key,name2:key2 in the environment or in .env.");
    }
    return config;
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

const config = readConfig();
const logger = createLogger({ service: "api", level: config.logLevel });
const runtime = createApiRuntime(config, logger);
const app = createApp(runtime.deps);
const server = createServer(app);
server.keepAliveTimeout = 65_000;

if (!(await runtime.start(5000))) {
  logger.warn({ redis: describeRedisTarget(config.redis) }, "Redis is not reachable yet: job routes answer 503 until it is");
} else {
  void warnUnlessNoeviction(runtime.deps.redis, logger);
}
server.listen(config.api.port, config.api.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.api.port;
  const live = PROVIDERS.filter((p) => !config.providers[p].simulated);
  const simulated = PROVIDERS.filter((p) => config.providers[p].simulated);
  logger.info({ port, redis: describeRedisTarget(config.redis), prefix: config.redis.prefix, live, simulated, keys: config.api.keys.map((k) => k.name) }, `llmq api listening on http://${config.api.host}:${port}`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, "second signal: exiting now");
    process.exit(1);
  }
  stopping = true;
  const { waiter, lifecycle } = runtime.deps;
  logger.info({ signal, waiting: waiter.size }, "shutting down: no new connections, finishing sync waits");
  lifecycle.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + config.api.shutdownGraceMs;
  while (waiter.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (waiter.size > 0) logger.warn({ waiting: waiter.size }, "grace period over: handing the remaining jobs over with 202");
  waiter.handOverAll();
  await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
  server.closeAllConnections();
  await runtime.close();
  logger.info("api stopped");
  process.exit(0);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));
