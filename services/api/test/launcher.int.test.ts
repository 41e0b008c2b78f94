import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { SchemaGuard } from "@llmq/shared";
import { deletePrefix, freePort, ping, testPrefix } from "@llmq/shared/testing";
import { GUIDE } from "./helpers.js";

/**
 * `npm start` end to end: the built launcher (scripts/start.mjs) runs the simulator, a worker and the API as
 * child processes from dist/ (npm test builds first), and the guide's curl bodies are sent to it.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const launcher = join(root, "scripts", "start.mjs");
const hasRedisServer = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

interface Launched {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const running: Launched[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const l of running.splice(0)) {
    if (l.child.exitCode === null && l.child.signalCode === null) {
      l.child.kill("SIGINT");
      const timer = setTimeout(() => l.child.kill("SIGKILL"), 20_000);
      await l.exited;
      clearTimeout(timer);
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function launch(script: string, env: Record<string, string | undefined>, cwd: string): Launched {
  const child = spawn(process.execPath, [script], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const l = { child, out: () => out, err: () => err, exited };
  running.push(l);
  return l;
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The environment minus anything llmq reads, so the developer's own settings never leak into a test. */
function baseEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(API_KEYS?|REDIS_|PORT$|HOST$|SIM_|SIMULATOR_|PROVIDER_MODE|OPENAI_|ANTHROPIC_|GROQ_|ENV_FILE|LOG_LEVEL)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, LOG_LEVEL: "warn", ...extra };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "llmq-start-"));
  dirs.push(d);
  return d;
}

async function post(base: string, key: string, path: string, body: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(base + path, { method: "POST", headers: { "X-API-Key": key, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe("npm start (scripts/start.mjs)", () => {
  it("runs the whole system: the guide's curls answer 200, structured output valid against its schema, usage counted; Ctrl-C stops everything", async () => {
    const port = await freePort();
    const prefix = testPrefix("launcher");
    const key = "launcher-test-key";
    const l = launch(launcher, baseEnv({ PORT: String(port), REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix, API_KEY: key, SIMULATOR_PORT: String(await freePort()) }), tempDir());
    await until(() => l.out().includes("[llmq] ready") || l.child.exitCode !== null, "the launcher to say ready");
    expect(l.err()).toBe("");
    expect(l.out()).toMatch(/providers: live none; simulated openai, anthropic, groq/);
    const base = `http://127.0.0.1:${port}`;

    const guard = new SchemaGuard();
    for (const body of [GUIDE.simple, GUIDE.nested, GUIDE.array]) {
      const r = await post(base, key, "/api/v1/structured", body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(guard.validate(body.schema, r.body.output).valid).toBe(true);
      expect(r.body.usage.total_tokens).toBeGreaterThan(0);
      expect(r.body.simulated).toBe(true);
    }
    const u = await post(base, key, "/api/v1/unstructured", GUIDE.unstructured);
    expect(u.status).toBe(200);
    expect(u.body.output.length).toBeGreaterThan(0);
    expect(u.body.usage.output_tokens).toBeGreaterThan(0);
    const c = await post(base, key, "/api/v1/conversation", GUIDE.conversation);
    expect(c.status).toBe(200);
    expect(c.body.message.role).toBe("assistant");
    expect(c.body.usage.input_tokens).toBeGreaterThan(0);
    expect((await fetch(`${base}/api/v1/health`, { headers: { "X-API-Key": key } })).status).toBe(200);

    l.child.kill("SIGINT");
    expect(await l.exited).toBe(0);
    expect(l.out()).toContain("[llmq] stopped");
    await expect(fetch(`${base}/api/v1/health`)).rejects.toThrow();
    const redis = new Redis(inject("redisUrl"));
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it.runIf(hasRedisServer)("with no key and no Redis, writes .env with a new key and starts a private redis-server, gone after Ctrl-C", async () => {
    const cwd = tempDir();
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const l = launch(launcher, baseEnv({ PORT: String(port), REDIS_URL: redisUrl, SIMULATOR_PORT: String(await freePort()) }), cwd);
    // The ready block is several writes to the pipe: wait for its last line before reading the hint in it.
    await until(() => l.out().includes("[llmq] Ctrl-C stops everything") || l.child.exitCode !== null, "the launcher to say ready");
    expect(l.out()).toContain("started a private redis-server");
    expect(l.out()).toContain(`grep "^API_KEY=" .env`);
    const env = readFileSync(join(cwd, ".env"), "utf8");
    // The guide's own extraction reads it back.
    const key = /^API_KEY=(.*)$/m.exec(env)?.[1]?.replace(/"/g, "") ?? "";
    expect(key.length).toBeGreaterThan(20);
    const r = await post(`http://127.0.0.1:${port}`, key, "/api/v1/unstructured", { model: "gpt-4", prompt: "hello" });
    expect(r.status).toBe(200);
    expect(await ping(redisUrl)).toBe(true);

    l.child.kill("SIGINT");
    expect(await l.exited).toBe(0);
    expect(await ping(redisUrl)).toBe(false);
  });

  it("with no Redis and no redis-server on PATH, exits naming both fixes", async () => {
    const nodeOnly = dirname(process.execPath);
    const l = launch(launcher, baseEnv({ PATH: nodeOnly, API_KEY: "k", REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()) }), tempDir());
    expect(await l.exited).toBe(1);
    expect(l.err()).toMatch(/no Redis answers at redis:\/\/127\.0\.0\.1:\d+/);
    expect(l.err()).toMatch(/install Redis/);
    expect(l.err()).toMatch(/docker compose up -d redis/);
  });

  it("the API alone refuses to start without a key, naming API_KEY and API_KEYS", async () => {
    const cwd = tempDir();
    const l = launch(join(root, "services/api/dist/main.js"), baseEnv({ ENV_FILE: join(cwd, "absent.env") }), cwd);
    expect(await l.exited).toBe(1);
    expect(l.err()).toContain("API_KEY=");
    expect(l.err()).toContain("API_KEYS=");
    expect(existsSync(join(cwd, ".env"))).toBe(false);
  });
});
