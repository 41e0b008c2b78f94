// npm run bench:redis-writes: the CPU one Redis command costs this process, by how its connection sends it, for
// bursts of 1 to 256 commands issued in one event-loop turn (the API's and the worker's traffic, from one request
// at a time to a wave of answers). Three connections, each with its writes coalesced (coalesce-writes.ts, as
// llmq's are):
// - "auto-pipelined, BullMQ's scripts": enableAutoPipelining on a connection a BullMQ Queue uses, as the API's
//   producer was. ioredis builds a pipeline for every turn with commands, and a pipeline copies every script
//   defined on its connection (BullMQ defines 64);
// - "auto-pipelined, no scripts": the same on a connection nothing defines scripts on;
// - "sent one by one": no auto-pipelining (what the API and the worker use now); the coalescing still sends a
//   turn's commands in one write while the connection awaits a reply.
// Each burst is N GETs of one missing key, awaited together; rounds alternate the connections' order. Prints µs of
// process CPU (user + system, so the socket writes count) per command, the median round's, and each over "sent one
// by one". Asserts nothing. Settings: BENCH_ROUNDS (default 5), BENCH_COMMANDS (per burst size, round and
// connection, default 20000), REDIS_URL. Writes only under a prefix of its own, deleted at the end.
// Runs directly under Node 24 (type stripping): it imports packages only, never relative TypeScript.
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { coalesceWrites, createProducerConnection, rawEnv, waitForReady, type RedisConnection } from "@llmq/shared";
import { deletePrefixKeys, formatTable, medianOf, positiveInt } from "@llmq/load";

const ROUNDS = positiveInt(rawEnv("BENCH_ROUNDS"), 5, "BENCH_ROUNDS");
const COMMANDS = positiveInt(rawEnv("BENCH_COMMANDS"), 20_000, "BENCH_COMMANDS");
const REDIS_URL = rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379";
const BURSTS = [1, 4, 16, 64, 256];
const prefix = `llmqbench-writes-${randomBytes(4).toString("hex")}`;

async function connection(auto: boolean): Promise<RedisConnection> {
  const conn = createProducerConnection(REDIS_URL, { connectionName: "llmq-bench-writes", ...(auto && { enableAutoPipelining: true }) });
  await waitForReady(conn);
  coalesceWrites(conn);
  return conn;
}

const withScripts = await connection(true);
const queue = new Queue("bench-writes", { connection: withScripts, prefix });
await queue.getJobCounts(); // BullMQ defines its scripts on the connection as it first uses it
const ways: [string, RedisConnection][] = [
  ["auto-pipelined, BullMQ's scripts", withScripts],
  ["auto-pipelined, no scripts", await connection(true)],
  ["sent one by one", await connection(false)],
];
const scripts = (c: RedisConnection): number => Object.keys((c as unknown as { scriptsSet: object }).scriptsSet).length;
console.log(`llmq Redis writes bench · Node ${process.version} · ${ROUNDS} rounds of ${COMMANDS} commands per burst size and connection · scripts defined: ${ways.map(([n, c]) => `${n} ${scripts(c)}`).join(", ")}`);

const key = `${prefix}:missing`;
async function cpuPerCommand(conn: RedisConnection, burst: number): Promise<number> {
  const bursts = Math.max(1, Math.floor(COMMANDS / burst));
  const t0 = process.cpuUsage();
  for (let i = 0; i < bursts; i++) {
    const pending: Promise<unknown>[] = [];
    for (let j = 0; j < burst; j++) pending.push(conn.get(key));
    await Promise.all(pending);
  }
  const spent = process.cpuUsage(t0);
  return (spent.user + spent.system) / (bursts * burst);
}

const figures = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ways : [...ways].reverse();
  for (const burst of BURSTS) {
    for (const [name, conn] of order) {
      const id = `${burst}\t${name}`;
      figures.set(id, [...(figures.get(id) ?? []), await cpuPerCommand(conn, burst)]);
    }
  }
  process.stderr.write(`  round ${r + 1}/${ROUNDS} done\n`);
}

const rows = BURSTS.map((burst) => {
  const direct = medianOf(figures.get(`${burst}\tsent one by one`) ?? []);
  const row: Record<string, string> = { "commands a turn": String(burst) };
  for (const [name] of ways) {
    const us = medianOf(figures.get(`${burst}\t${name}`) ?? []);
    row[`${name}, µs`] = us === null ? "n/a" : us.toFixed(1);
    if (name !== "sent one by one") row[`${name}, over one by one`] = us === null || direct === null ? "n/a" : `${(us / direct).toFixed(2)}×`;
  }
  return row;
});
console.log("");
console.log(formatTable(rows));
console.log("");
console.log("µs of this process's CPU per command (user + system), median round. Every connection coalesces its writes.");

await queue.close();
for (const [, conn] of ways) conn.disconnect();
await deletePrefixKeys(REDIS_URL, prefix);
