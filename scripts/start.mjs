#!/usr/bin/env node
// `npm start`: the whole llmq system for a new user, in one terminal.
//   - builds (tsc -b) when a service's dist/ is missing;
//   - makes sure there is an API key: with no API_KEY/API_KEYS and no .env, writes a .env with a new key;
//   - finds Redis at REDIS_URL (default redis://127.0.0.1:6379), or starts a private, ephemeral
//     redis-server when none answers there and one is installed, or says how to get one;
//   - runs the provider simulator (when a provider is simulated), one worker and the API on PORT (default
//     8000), each as `node services/<x>/dist/main.js`, and says which providers are live and which simulated;
//   - Ctrl-C (or SIGTERM) stops the API and the worker (each finishes its in-flight work), then the
//     simulator, then the private Redis. A second Ctrl-C kills everything at once.
// It imports only @llmq/shared's built config (to read .env and settings exactly as the services will);
// never service code. Children get the launcher's environment plus what it decided (REDIS_URL, ports).
// First of all, the Node check: on an old Node it prints one line and exits, before anything that needs Node 22.
import "./check-node.mjs";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const watch = join(root, "scripts", "parent-watch.mjs");
const MAINS = {
  simulator: "services/simulator/dist/main.js",
  worker: "services/worker/dist/main.js",
  api: "services/api/dist/main.js",
};
const say = (msg) => process.stdout.write(`[llmq] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[llmq] ${msg}\n`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- build -------------------------------------------------------------------------------------------
const missing = [...Object.values(MAINS), "shared/dist/index.js"].filter((p) => !existsSync(join(root, p)));
if (missing.length > 0) {
  say(`building (tsc -b): ${missing.join(", ")} missing`);
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) fail("TypeScript is not installed. Fix: run `npm ci` first.");
  const built = spawnSync(process.execPath, [tsc, "-b"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) fail("the build failed (see above). Fix the errors, or run `npm ci` if dependencies are missing.");
}
const shared = await import(join(root, "shared", "dist", "index.js"));

// ---- API key ----------------------------------------------------------------------------------------
const envPath = resolve(process.cwd(), shared.processEnv().ENV_FILE ?? ".env");
const env = { ...shared.readEnvFile(envPath), ...shared.processEnv() };
if (!env.API_KEY && !env.API_KEYS) {
  if (existsSync(envPath)) {
    fail(`${envPath} sets neither API_KEY nor API_KEYS. Fix: add a line API_KEY=<a secret of your choice> to it, or set API_KEY in the environment.`);
  }
  const key = `llmq-${randomBytes(24).toString("base64url")}`;
  writeFileSync(envPath, `# Written by npm start. The key clients send in X-API-Key; change it at will.\nAPI_KEY=${key}\n`, { mode: 0o600 });
  env.API_KEY = key;
  say(`no API key was configured: generated one and wrote it to ${envPath} (API_KEY=...)`);
}

// ---- config (as the services will see it) -----------------------------------------------------------
let config;
try {
  config = shared.parseConfig(env);
} catch (err) {
  fail(err.message);
}
const overrides = {};

// ---- Redis ------------------------------------------------------------------------------------------
let privateRedis;
const redisUrl = new URL(config.redis.url);
if (config.redis.clusterNodes !== undefined) {
  // A Redis Cluster is the operator's own: never replaced by a private redis-server. The services wait for it.
  say(`Redis Cluster: ${shared.describeRedisTarget(config.redis)}`);
} else if (!(await redisAnswers(redisUrl))) {
  const local = ["127.0.0.1", "localhost", "[::1]", "::1"].includes(redisUrl.hostname);
  const installed = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!local || !installed) {
    fail(
      `no Redis answers at ${shared.redactRedisUrl(config.redis.url)}. Fix one of:\n` +
        "  - install Redis and start it (apt-get install redis-server / brew install redis), then run npm start again;\n" +
        "  - or run one in Docker: `docker compose up -d redis` (publish its port, e.g. `docker run -d -p 6379:6379 redis:7`);\n" +
        "  - or point REDIS_URL at a Redis you have.",
    );
  }
  const wanted = Number(redisUrl.port || 6379);
  const port = (await portFree(wanted)) ? wanted : await freePort();
  privateRedis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore", detached: true });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await redisAnswers(new URL(url))); i++) await sleep(50);
  if (!(await redisAnswers(new URL(url)))) fail(`started redis-server on port ${port} but it does not answer`);
  overrides.REDIS_URL = url;
  say(`no Redis answered at ${shared.redactRedisUrl(config.redis.url)}: started a private redis-server on ${url} (ephemeral: its data goes when llmq stops)`);
} else {
  say(`Redis: ${shared.redactRedisUrl(config.redis.url)}`);
}

// ---- ports ------------------------------------------------------------------------------------------
const apiPort = config.api.port === 0 ? await freePort() : config.api.port;
if (!(await portFree(apiPort, config.api.host))) fail(`port ${apiPort} is in use. Fix: stop what uses it, or set PORT to another port.`);
overrides.PORT = String(apiPort);
// The worker's Prometheus endpoint: on 9464 (the image's port) unless WORKER_METRICS_PORT is set (0 = off).
if (env.WORKER_METRICS_PORT === undefined) overrides.WORKER_METRICS_PORT = String((await portFree(9464)) ? 9464 : await freePort());
const simulated = Object.values(config.providers).filter((p) => p.simulated).map((p) => p.name);
const live = Object.values(config.providers).filter((p) => !p.simulated).map((p) => p.name);
// A SIMULATOR_URL the user set means a simulator runs elsewhere: use it, do not start one.
const runSimulator = simulated.length > 0 && !env.SIMULATOR_URL;
if (runSimulator && !env.SIMULATOR_PORT) {
  overrides.SIMULATOR_PORT = String((await portFree(config.simulator.port)) ? config.simulator.port : await freePort());
}
say(`providers: live ${live.length ? live.join(", ") : "none"}; simulated ${simulated.length ? simulated.join(", ") : "none"}` +
  (simulated.length ? " (no key, or PROVIDER_MODE=simulate: answers come from the bundled simulator and say \"simulated\": true)" : ""));

// ---- children ---------------------------------------------------------------------------------------
const childEnv = { ...env, ...overrides };
const children = new Map();
let stopping = false;

/** A service's own V8 flags (services/<name>/node-flags.json), as its image's CMD passes them. */
function nodeFlags(name) {
  const file = join(root, "services", name, "node-flags.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [];
}

function start(name) {
  const child = spawn(process.execPath, [...nodeFlags(name), "--import", watch, join(root, MAINS[name])], {
    cwd: process.cwd(),
    env: childEnv,
    // Own process group: Ctrl-C reaches the launcher only, which stops the children in order.
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.set(name, child);
  child.on("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stderr.write(`[llmq] the ${name} exited (${signal ?? `code ${code}`}); stopping everything\n`);
      void stop(1);
    }
  });
  return child;
}

if (runSimulator) {
  start("simulator");
  const simPort = Number(childEnv.SIMULATOR_PORT ?? config.simulator.port);
  for (let i = 0; i < 200 && !(await portOpen(simPort)) && !stopping; i++) await sleep(50);
}
if (!stopping) start("worker");
if (!stopping) start("api");

const base = `http://localhost:${apiPort}`;
let answered = false;
for (let i = 0; i < 300 && !stopping && !answered; i++) {
  answered = await fetch(`${base}/api/v1/health`).then((r) => r.ok || r.status === 503, () => false);
  if (!answered) await sleep(100);
}
if (!stopping && !answered) say(`the API did not answer on ${base} within 30 s: its log above says why (Ctrl-C stops everything)`);
if (!stopping && answered) {
  const keyHint = existsSync(envPath) ? `API_KEY=$(grep "^API_KEY=" .env | cut -d '=' -f2 | tr -d '"')` : "API_KEY=<your key>";
  say(`ready: API on ${base}`);
  const workerMetrics = Number(childEnv.WORKER_METRICS_PORT ?? 0);
  say(`metrics: ${base}/metrics (API)${workerMetrics > 0 ? `, http://localhost:${workerMetrics}/metrics (worker)` : ""}; ` +
    (config.api.adminKeyHash ? `queue dashboard: ${base}/admin/queues (any user name, password ADMIN_API_KEY)` : "queue dashboard: set ADMIN_API_KEY to serve it at /admin/queues"));
  say("try it:");
  process.stdout.write(
    `  ${keyHint}\n` +
      `  curl -s ${base}/api/v1/models -H "X-API-Key: \${API_KEY}"\n` +
      `  curl -s -X POST ${base}/api/v1/unstructured -H "X-API-Key: \${API_KEY}" -H "Content-Type: application/json" \\\n` +
      `       -d '{"model": "gpt-4", "prompt": "Write a haiku about queues"}'\n`,
  );
  say("Ctrl-C stops everything");
}

// ---- stopping ---------------------------------------------------------------------------------------
async function stopChildren(names, graceMs) {
  const exits = names
    .map((n) => children.get(n))
    .filter(Boolean)
    .map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", r))));
  for (const n of names) children.get(n)?.kill("SIGTERM");
  const timer = setTimeout(() => names.forEach((n) => children.get(n)?.kill("SIGKILL")), graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // The API and the worker first (each finishes in-flight work within its grace), the simulator once no
  // worker can call it, Redis last.
  await stopChildren(["api", "worker"], Math.max(config.api.shutdownGraceMs, config.worker.shutdownGraceMs) + 10_000);
  await stopChildren(["simulator"], 10_000);
  if (privateRedis && privateRedis.exitCode === null) {
    await new Promise((r) => {
      privateRedis.once("exit", r);
      privateRedis.kill("SIGTERM");
    });
  }
  say("stopped");
  process.exit(code);
}

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (++signals > 1) {
      say("second signal: killing everything now");
      for (const c of children.values()) c.kill("SIGKILL");
      privateRedis?.kill("SIGKILL");
      process.exit(1);
    }
    say(`${signal}: stopping (the API and the worker finish in-flight work first; Ctrl-C again to kill)`);
    void stop(0);
  });
}
// Whatever happens to the launcher short of SIGKILL, its private Redis does not outlive it.
process.on("exit", () => {
  if (privateRedis && privateRedis.exitCode === null) privateRedis.kill("SIGKILL");
});

// ---- helpers ----------------------------------------------------------------------------------------
/** True when anything speaking RESP answers a PING there (a password-protected Redis answers -NOAUTH). */
function redisAnswers(url) {
  return new Promise((resolvePing) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || 6379);
    if (url.protocol === "rediss:") {
      // TLS: trust the URL; the services report a failure themselves.
      resolvePing(true);
      return;
    }
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (buf) => done(buf[0] === 0x2b /* + */ || buf[0] === 0x2d /* - */));
  });
}

function portOpen(port) {
  return new Promise((resolveOpen) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolveOpen(true)));
    socket.once("error", () => resolveOpen(false));
  });
}

function portFree(port, host = "0.0.0.0") {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.once("error", () => resolveFree(false));
    srv.listen(port, host, () => srv.close(() => resolveFree(true)));
  });
}

function freePort() {
  return new Promise((resolveFree, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolveFree(port));
    });
  });
}
