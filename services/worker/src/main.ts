import { ConfigError, createLogger, loadConfig, PROVIDERS, describeRedisTarget, warnUnlessNoeviction } from "@llmq/shared";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";
import { createPromWorkerMetrics } from "./prom-metrics.js";
import { createWorkerService, FORCE_CLOSE_MS, workerIdentity } from "./worker-service.js";

/** After the grace period and the hand-back window, what the last shutdown steps get before the process exits anyway. */
const EXIT_MARGIN_MS = 5_000;

/**
 * The worker process: config → service → start, and the shutdown wiring. The only place that starts I/O.
 * First SIGTERM/SIGINT: stop taking jobs, finish active ones within WORKER_SHUTDOWN_GRACE_MS, close
 * everything, exit 0. Exit 1 when it could not close cleanly (Redis not answering: the service dropped its
 * connections and logged the jobs it left), or when shutdown is still running EXIT_MARGIN_MS past the grace
 * period and the hand-back window. A second signal exits at once.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(78);
  }
  const logger = createLogger({ service: "worker", level: config.logLevel });
  // WORKER_METRICS_PORT=0 (the default): no server, and the hook stays the no-op.
  const identity = workerIdentity();
  const prom = config.worker.metricsPort > 0 ? createPromWorkerMetrics({ identity: { name: identity, version: config.version } }) : undefined;
  const service = createWorkerService({ config, logger, identity, ...(prom && { metrics: prom.hook }) });
  let metricsServer: MetricsServer | undefined;

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, grace_ms: config.worker.shutdownGraceMs }, "shutting down: no new jobs, finishing active ones");
    setTimeout(() => {
      logger.error("shutdown did not finish in time: exiting");
      process.exit(1);
    }, config.worker.shutdownGraceMs + FORCE_CLOSE_MS + EXIT_MARGIN_MS).unref();
    service.close().then(
      async ({ clean }) => {
        await metricsServer?.close();
        if (!clean) {
          logger.error("worker stopped without closing cleanly");
          process.exit(1);
        }
        logger.info("worker stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  // Before any job is taken: a port in use stops the process while it holds nothing.
  if (prom !== undefined) {
    metricsServer = await startMetricsServer(prom.registry, config.worker.metricsPort, config.worker.metricsHost);
    logger.info({ port: metricsServer.port }, `metrics on http://${config.worker.metricsHost}:${metricsServer.port}/metrics`);
  }
  await service.start();
  void warnUnlessNoeviction(service.redis, logger);
  for (const name of PROVIDERS) {
    const p = config.providers[name];
    // Never the key: only whether the provider is live or simulated, and where it is reached.
    logger.info({ provider: name, mode: p.simulated ? "simulated" : "live", host: new URL(p.baseUrl).host, concurrency: p.concurrency, limits: p.limits }, `${name}: ${p.simulated ? "simulated" : "live"}`);
  }
  logger.info({ redis: describeRedisTarget(config.redis), prefix: config.redis.prefix, version: config.version, worker: identity }, "worker started");
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
