// npm run bench:batch-store: the longest single Redis command while a 50,000-item batch is stored, the old way
// (one MULTI with every item) against the new one (BatchStore.create: items staged in bounded RPUSHes, then one
// small MULTI), on a private redis-server this script starts (SLOWLOG is per server: the shared Redis's would mix
// in other people's commands). Two figures per way: the longest command in SLOWLOG (threshold 0, EXEC included),
// (EXEC is never in SLOWLOG: it lists the commands inside), the longest "command"/"fast-command" event of Redis's LATENCY monitor
// (threshold 1 ms; it times EXEC whole), and the longest PING round trip a separate process saw meanwhile (how
// long Redis answered nobody else; a process of its own, so this script's own event loop cannot delay it).
// Runs directly under Node 24 (type stripping): it imports packages only, never relative TypeScript.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { BatchStore } from "@llmq/api";
import { PROVIDERS, rawEnv, activeBatchesKey, batchKeySet, batchWakeChannel, createKeys, encodeBatchEntry, jobTypeChar, runningBatchesKey, type JobPayload, type ProviderName } from "@llmq/shared";

const ITEMS = Number(rawEnv("BENCH_ITEMS") ?? 50_000);
const ROUNDS = Number(rawEnv("BENCH_ROUNDS") ?? 3);
const SCHEMA = { type: "object", properties: { name: { type: "string", description: "the user's full name" }, age: { type: "integer", minimum: 0 }, email: { type: "string" }, tags: { type: "array", items: { type: "string" } } }, required: ["name", "age"] };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function batch(id: string) {
  const entries: Partial<Record<ProviderName, string[]>> = {};
  let types = "";
  for (let i = 0; i < ITEMS; i++) {
    const provider = PROVIDERS[i % PROVIDERS.length] as ProviderName;
    const payload = { type: "structured", model: "gpt-4o-mini", provider, owner: "bench", request_id: "r", created_at: Date.now(), batch_id: id, custom_id: `item-${i}`, max_tokens: 200, messages: [{ role: "user", content: `Generate user number ${i} with a name, an age, an email and some tags.` }], schema: SCHEMA } as unknown as JobPayload;
    (entries[provider] ??= []).push(encodeBatchEntry(i, `item-${i}`, payload));
    types += jobTypeChar("structured");
  }
  return { id, owner: "bench", createdAt: Date.now(), total: ITEMS, metadata: undefined, entries, types };
}

/** The pre-change store: the whole batch in ONE MULTI. */
async function oneMulti(redis: Redis, prefix: string, b: ReturnType<typeof batch>): Promise<void> {
  const keys = createKeys(prefix);
  const set = batchKeySet(keys, b.id);
  const multi = redis.multi();
  multi.hset(set.meta, { owner: b.owner, status: "queued", total: b.total, queued: b.total, active: 0, completed: 0, failed: 0, cancelled: 0, created_at: b.createdAt });
  for (const p of PROVIDERS) {
    const e = b.entries[p] ?? [];
    for (let i = 0; i < e.length; i += 1000) multi.rpush(set.pending[p], ...e.slice(i, i + 1000));
    multi.zadd(activeBatchesKey(keys, p), b.createdAt, b.id);
  }
  multi.zadd(runningBatchesKey(keys), b.createdAt, b.id);
  multi.publish(batchWakeChannel(keys), PROVIDERS.join(","));
  await multi.exec();
}

// A raw RESP PING loop in its own process; prints its longest round trip (ms) when its stdin closes.
const PINGER = `
const net = require("node:net");
const s = net.connect(Number(process.argv[1]), "127.0.0.1");
let max = 0, t = 0, buf = "";
const ping = () => { t = performance.now(); s.write("PING\\r\\n"); };
s.on("connect", ping);
s.on("data", (d) => { buf += d; if (buf.endsWith("\\r\\n")) { buf = ""; max = Math.max(max, performance.now() - t); ping(); } });
process.stdin.on("end", () => { process.stdout.write(String(max)); process.exit(0); });
process.stdin.resume();`;

async function measure(redis: Redis, port: number, run: () => Promise<void>): Promise<{ slowestUs: number; command: string; latencyMs: number; pingMaxMs: number; wallMs: number }> {
  await redis.slowlog("RESET");
  await redis.call("LATENCY", "RESET");
  const pinger = spawn(process.execPath, ["-e", PINGER, String(port)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  pinger.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  const exited = new Promise((r) => pinger.once("exit", r));
  pinger.stdin.end();
  await exited;
  const pingMaxMs = Number(out);
  const latest = (await redis.call("LATENCY", "LATEST")) as [string, number, number, number][];
  const latencyMs = Math.max(0, ...latest.filter((e) => e[0] === "command" || e[0] === "fast-command").map((e) => Number(e[3])));
  const log = (await redis.slowlog("GET", 100_000)) as [number, number, number, (string | Buffer)[]][];
  let slowestUs = 0;
  let command = "";
  for (const [, , us, args] of log) {
    const name = String(args[0]).toUpperCase();
    if (name === "SLOWLOG" || name === "PING") continue;
    if (us > slowestUs) [slowestUs, command] = [us, name];
  }
  return { slowestUs, command, latencyMs, pingMaxMs, wallMs };
}

const port = await freePort();
const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--slowlog-log-slower-than", "0", "--slowlog-max-len", "200000"], { stdio: "ignore" });
const redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => 100 });
redis.on("error", () => undefined);
try {
  for (let i = 0; i < 50; i++) {
    try {
      await redis.connect();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await redis.config("SET", "latency-monitor-threshold", "1");
  const prefix = "bench";
  const store = new BatchStore(redis, createKeys(prefix));
  const sample = batch("batch_" + "0".repeat(32));
  const bytes = Object.values(sample.entries).reduce((n, e) => n + (e ?? []).reduce((m, x) => m + x.length, 0), 0);
  console.log(`storing a ${ITEMS.toLocaleString("en")}-item batch (${(bytes / 1e6).toFixed(1)} MB of entries), ${ROUNDS} rounds each, private redis-server on :${port}`);
  const rows: string[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of [["one MULTI (before)", (b: ReturnType<typeof batch>) => oneMulti(redis, prefix, b)], ["staged + commit (after)", (b: ReturnType<typeof batch>) => store.create(b)]] as const) {
      const b = batch(`batch_${String(r).padStart(2, "0")}${name.startsWith("one") ? "a" : "b"}${"0".repeat(29)}`);
      const m = await measure(redis, port, () => fn(b));
      rows.push(`${name.padEnd(24)} round ${r + 1}: longest in SLOWLOG ${(m.slowestUs / 1000).toFixed(2)} ms (${m.command}), longest LATENCY event ${m.latencyMs} ms, longest PING from another process ${m.pingMaxMs.toFixed(1)} ms, whole store ${m.wallMs.toFixed(0)} ms`);
      console.log(rows.at(-1));
      const left = await redis.keys(`${prefix}:*`);
      if (left.length > 0) await redis.unlink(...left);
    }
  }
} finally {
  redis.disconnect();
  server.kill("SIGTERM");
}
