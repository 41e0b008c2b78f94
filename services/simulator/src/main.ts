// Starts the simulator from llmq's config (SIMULATOR_PORT, SIMULATOR_HOST, SIM_LATENCY_MS,
// SIM_TOKENS_PER_S, SIM_FAULTS, SIM_LIMITS, SIM_SEED) and closes it on SIGTERM/SIGINT. The only file here
// that does I/O setup; logs once at startup and never per request, so benchmarks measure serving.
import { createLogger, loadConfig } from "@llmq/shared";
import { createSimulator } from "./server.js";

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ service: "simulator", level: config.logLevel });
  const { port, host, latencyMs, tokensPerS, faults, seed, limits } = config.simulator;
  const simulator = createSimulator({ latencyMs, tokensPerS, faults, seed, limits });
  const { url } = await simulator.listen(port, host);
  log.info({ url, latency_ms: latencyMs, tokens_per_s: tokensPerS, faults: faults || "none", limits: limits || "none", seed }, "simulator listening");

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "simulator shutting down");
    const force = setTimeout(() => {
      log.error({ grace_ms: SHUTDOWN_GRACE_MS }, "shutdown grace period exceeded, exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    simulator.close().then(
      () => log.info("simulator stopped"),
      (err: unknown) => { log.error({ err }, "simulator close failed"); process.exitCode = 1; },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  // Config errors (and a bad SIM_FAULTS or SIM_LIMITS) already name every bad part and its fix; print them as they are.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
