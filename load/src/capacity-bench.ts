import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { rawEnv } from "@llmq/shared";
import { REPO_ROOT, startStack, type Stack } from "./stack.js";
import { pickNames, positiveInt } from "./settings.js";
import { formatTable } from "./table.js";

/**
 * `npm run bench:capacity`: llmq against a provider that enforces rate limits the way OpenAI documents them
 * (the simulator's SIM_LIMITS: buckets that refill continuously, one second's worth of capacity, each request
 * charged its prompt plus max_tokens at admission, 429 with x-ratelimit-* and retry-after). Each scenario
 * starts a private stack (simulator, API, workers) on loopback and prints what a batch submitter sees next to
 * what the simulator counted: items failed, calls answered 429, and the drain time over the time the
 * provider's budget allows (its token and request budgets, after the initial burst).
 *
 * Settings: REDIS_URL; CAPACITY_ITEMS (default 2000); CAPACITY_RPM / CAPACITY_TPM (default 6000 / 600000);
 * CAPACITY_SCENARIOS (comma list, default all of: configured, learned, two-workers, fair, sync).
 */

const MODEL = "gpt-4";
const MAX_TOKENS = 100;

interface SimModelStats {
  admitted: number;
  rate_limited: number;
  tokens_charged: number;
}

interface Scenario {
  name: string;
  what: string;
  env: Record<string, string>;
  workers: number;
}

interface BatchRun {
  id: string;
  items: number;
  done_s: number;
  completed: number;
  failed: number;
}

export interface CapacityRow {
  scenario: string;
  items: number;
  failed: number;
  calls: number;
  calls_429: number;
  pct_429: number;
  drain_s: number;
  budget_s: number;
  x_budget: number;
  note: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function items(n: number, tag: string): Array<{ custom_id: string; type: string; body: Record<string, unknown> }> {
  return Array.from({ length: n }, (_, i) => ({ custom_id: `${tag}-${i}`, type: "unstructured", body: { model: MODEL, prompt: `Write a haiku about ${tag} item ${i}.`, max_tokens: MAX_TOKENS } }));
}

async function submit(stack: Stack, key: string, n: number, tag: string): Promise<string> {
  const res = await fetch(`${stack.apiUrl}/api/v1/batches`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ requests: items(n, tag) }),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /api/v1/batches answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { id: string }).id;
}

async function follow(stack: Stack, key: string, id: string, startedAt: number, timeoutS: number): Promise<BatchRun> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const r = await fetch(`${stack.apiUrl}/api/v1/batches/${id}`, { headers: { "x-api-key": key } });
    const b = (await r.json()) as { status: string; counts: { total: number; completed: number; failed: number; cancelled: number } };
    const c = b.counts;
    if (c.completed + c.failed + c.cancelled >= c.total || Date.now() > deadline) {
      return { id, items: c.total, done_s: (performance.now() - startedAt) / 1000, completed: c.completed, failed: c.failed };
    }
    await sleep(50);
  }
}

async function simStats(stack: Stack): Promise<{ calls: number; by429: number; model: SimModelStats }> {
  const s = (await (await fetch(`${stack.simulatorUrl}/__sim/stats`)).json()) as { by_route: Record<string, number>; by_status: Record<string, number>; limits?: Record<string, SimModelStats> };
  const model = s.limits?.[`openai:${MODEL}`] ?? { admitted: 0, rate_limited: 0, tokens_charged: 0 };
  return { calls: s.by_route["openai.chat_completions"] ?? 0, by429: s.by_status["429"] ?? 0, model };
}

/** Seconds the provider's budget needs for what it admitted: tokens and requests, after one second's burst. */
function budgetSeconds(model: SimModelStats, rpm: number, tpm: number): number {
  const tokens = Math.max(0, model.tokens_charged - tpm / 60) / (tpm / 60);
  const requests = Math.max(0, model.admitted - rpm / 60) / (rpm / 60);
  return Math.max(tokens, requests);
}

async function syncRequest(stack: Stack): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${stack.apiUrl}/api/v1/unstructured?wait=30`, {
    method: "POST",
    headers: { "x-api-key": stack.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, prompt: "A sync request while the batch drains", max_tokens: MAX_TOKENS }),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t0 };
}

async function runScenario(sc: Scenario, redisUrl: string, n: number, rpm: number, tpm: number): Promise<CapacityRow> {
  const keys = { a: `capa-${Math.random().toString(36).slice(2)}`, b: `capb-${Math.random().toString(36).slice(2)}` };
  const stack = await startStack({
    redisUrl,
    workers: sc.workers,
    env: { SIM_LIMITS: `${MODEL}=rpm:${rpm},tpm:${tpm}`, API_KEYS: `alice:${keys.a},bob:${keys.b}`, ...sc.env },
  });
  try {
    const warm = await simStats(stack);
    const t0 = performance.now();
    let note = "";
    let runs: BatchRun[];
    if (sc.name === "fair") {
      const small = Math.max(1, Math.round(n / 20));
      const [big, little] = await Promise.all([submit(stack, keys.a, n / 2, "alice"), submit(stack, keys.b, small, "bob")]);
      runs = await Promise.all([follow(stack, keys.a, big, t0, 600), follow(stack, keys.b, little, t0, 600)]);
      const [rb, rl] = runs as [BatchRun, BatchRun];
      const perItemTokens = (MAX_TOKENS + 15) / (tpm / 60);
      const halfCapacityS = small * perItemTokens * 2;
      note = `${small}-item batch (key bob) done in ${rl.done_s.toFixed(1)} s, ${n / 2}-item batch (key alice) in ${rb.done_s.toFixed(1)} s; the small one alone at half capacity needs ~${halfCapacityS.toFixed(1)} s`;
    } else {
      const id = await submit(stack, stack.apiKey, n, sc.name);
      let sync: Promise<{ status: number; ms: number }> | undefined;
      if (sc.name === "sync") {
        await sleep(3000);
        sync = syncRequest(stack);
      }
      runs = [await follow(stack, stack.apiKey, id, t0, 600)];
      if (sync !== undefined) {
        const r = await sync;
        note = `sync request during the drain: ${r.status} in ${Math.round(r.ms)} ms (wait=30 s)`;
      }
    }
    const drainS = (performance.now() - t0) / 1000;
    const end = await simStats(stack);
    const model = { admitted: end.model.admitted - warm.model.admitted, rate_limited: end.model.rate_limited - warm.model.rate_limited, tokens_charged: end.model.tokens_charged - warm.model.tokens_charged };
    const calls = end.calls - warm.calls;
    const calls429 = end.by429 - warm.by429;
    const budget = budgetSeconds(model, rpm, tpm);
    return {
      scenario: `${sc.name}: ${sc.what}`,
      items: runs.reduce((s, r) => s + r.items, 0),
      failed: runs.reduce((s, r) => s + r.failed, 0),
      calls,
      calls_429: calls429,
      pct_429: calls === 0 ? 0 : Math.round((calls429 / calls) * 10_000) / 100,
      drain_s: Math.round(drainS * 10) / 10,
      budget_s: Math.round(budget * 10) / 10,
      x_budget: budget === 0 ? 0 : Math.round((drainS / budget) * 100) / 100,
      note,
    };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const redisUrl = rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const n = positiveInt(rawEnv("CAPACITY_ITEMS"), 2000, "CAPACITY_ITEMS");
  const rpm = positiveInt(rawEnv("CAPACITY_RPM"), 6000, "CAPACITY_RPM");
  const tpm = positiveInt(rawEnv("CAPACITY_TPM"), 600_000, "CAPACITY_TPM");
  const configured = { OPENAI_RPM: String(rpm), OPENAI_TPM: String(tpm) };
  const all: Scenario[] = [
    { name: "configured", what: "limits set in llmq (OPENAI_RPM/TPM)", env: configured, workers: 1 },
    { name: "learned", what: "no limits in llmq: learned from x-ratelimit-* headers", env: {}, workers: 1 },
    { name: "two-workers", what: "two worker processes, one budget", env: configured, workers: 2 },
    { name: "fair", what: "two keys at once, a large and a small batch", env: configured, workers: 1 },
    { name: "sync", what: "a sync request while the batch drains", env: configured, workers: 1 },
  ];
  const wanted = pickNames(rawEnv("CAPACITY_SCENARIOS"), all.map((s) => s.name), "CAPACITY_SCENARIOS");
  const scenarios = all.filter((s) => wanted.includes(s.name));
  console.log(`llmq capacity bench: ${n} items of ${MODEL}, max_tokens ${MAX_TOKENS}, simulator limits ${rpm} requests and ${tpm} tokens per minute\n`);
  const rows: CapacityRow[] = [];
  for (const sc of scenarios) {
    const row = await runScenario(sc, redisUrl, n, rpm, tpm);
    rows.push(row);
    console.log(`${row.scenario}: ${row.failed} failed of ${row.items}, ${row.calls_429} of ${row.calls} calls answered 429 (${row.pct_429} %), ${row.drain_s} s = ${row.x_budget} x the budget's ${row.budget_s} s${row.note ? `; ${row.note}` : ""}`);
  }
  console.log(`\n${formatTable(rows.map((r) => ({ scenario: r.scenario, items: String(r.items), failed: String(r.failed), calls: String(r.calls), "429s": String(r.calls_429), "% 429": String(r.pct_429), "drain s": String(r.drain_s), "budget s": String(r.budget_s), "× budget": String(r.x_budget) })))}`);
  for (const r of rows) if (r.note) console.log(`${r.scenario.split(":")[0]}: ${r.note}`);
  const dir = join(REPO_ROOT, "load", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `capacity-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ items: n, rpm, tpm, rows }, null, 2));
  console.log(`\nwritten: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
