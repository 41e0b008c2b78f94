#!/usr/bin/env bash
# Batches: the acceptance run of issue 4 against a running llmq (npm start), printing its figures.
#
#   1. sync latency with idle queues: SYNC_SAMPLES sequential POST /api/v1/unstructured on SYNC_MODEL;
#   2. a BATCH_ITEMS mixed batch (structured, unstructured, conversation over OpenAI, Anthropic and Groq
#      models): time to its 202, then polled until final; every poll checks queued + active + completed +
#      failed + cancelled = total; meanwhile one sync request a second on SYNC_MODEL (latency during the drain);
#   3. its results, streamed: every custom_id exactly once, every structured output valid against its schema
#      (checked here with ajv, independently of llmq's own validation);
#   4. a second batch (CANCEL_ITEMS) cancelled once CANCEL_AFTER items finished: cancelled > 0, the counts add
#      up at every poll, every custom_id once in its results.
# Exits 1 when a check fails. Settings: BASE_URL (http://localhost:8000), API_KEY (else .env), BATCH_ITEMS
# (10000), CANCEL_ITEMS (10000), CANCEL_AFTER (500), SYNC_MODEL (gpt-4o-mini), SYNC_SAMPLES (10),
# TIMEOUT_S (600). Start llmq with a provider latency to make the sync figures mean something, e.g.
# `SIM_LATENCY_MS=200 npm start`.
set -euo pipefail
# shellcheck source=load/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

llmq_require curl jq node
llmq_check_target
llmq_read_api_key
llmq_probe

export BASE_URL API_KEY
export BATCH_ITEMS=${BATCH_ITEMS:-10000} CANCEL_ITEMS=${CANCEL_ITEMS:-10000} CANCEL_AFTER=${CANCEL_AFTER:-500}
export SYNC_MODEL=${SYNC_MODEL:-gpt-4o-mini} SYNC_SAMPLES=${SYNC_SAMPLES:-10} TIMEOUT_S=${TIMEOUT_S:-600}
llmq_log "batch acceptance against $BASE_URL: $BATCH_ITEMS items, then $CANCEL_ITEMS cancelled after $CANCEL_AFTER; $(llmq_machine)"

# The checks run in node (fetch, streams); ajv comes from the repository's node_modules.
exec node --input-type=module - <<'NODE'
import { Ajv2020 } from "ajv/dist/2020.js";

const env = process.env;
const BASE = env.BASE_URL;
const HEADERS = { "x-api-key": env.API_KEY ?? "" };
const N = Number(env.BATCH_ITEMS);
const SCHEMA = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };
const MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant"];
const validUser = new Ajv2020({ strict: false }).compile(SCHEMA);
const failures = [];
const check = (ok, what) => { if (!ok) { failures.push(what); console.error(`FAILED: ${what}`); } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
const ms = (x) => `${x.toFixed(0)} ms`;

function item(i, tag) {
  const model = MODELS[(i + Math.floor(i / 3)) % 3];
  const custom_id = `${tag}-${i}`;
  if (i % 3 === 0) return { custom_id, type: "unstructured", body: { model, prompt: `Write one sentence about item ${i}.`, max_tokens: 60 } };
  if (i % 3 === 1) return { custom_id, type: "structured", body: { model, prompt: `Generate user ${i} with a name and an age`, max_tokens: 120, schema: SCHEMA } };
  return { custom_id, type: "conversation", body: { model, max_tokens: 60, messages: [
    { role: "user", content: `Hello, I am user ${i}.` }, { role: "assistant", content: "Hello! How can I help?" }, { role: "user", content: "Tell me a fact about the sea." }] } };
}

async function sync(label) {
  const t0 = performance.now();
  const res = await fetch(`${BASE}/api/v1/unstructured`, { method: "POST", headers: { ...HEADERS, "content-type": "application/json" },
    body: JSON.stringify({ model: env.SYNC_MODEL, prompt: `Say hello (${label} ${Math.random().toString(36).slice(2)})`, max_tokens: 30 }) });
  const body = await res.json();
  check(res.status === 200, `sync request (${label}) answered ${res.status}`);
  // queued_ms: from the API accepting the job to a worker starting it (the wait behind other jobs).
  (label === "idle" ? idleQueued : duringQueued).push(body.timings?.queued_ms ?? NaN);
  (label === "idle" ? idleProvider : duringProvider).push(body.timings?.provider_ms ?? NaN);
  return performance.now() - t0;
}
const idleQueued = [], duringQueued = [], idleProvider = [], duringProvider = [];

async function submit(n, tag) {
  const body = JSON.stringify({ requests: Array.from({ length: n }, (_, i) => item(i, tag)), metadata: { run: `batch_acceptance ${tag}` } });
  const t0 = performance.now();
  const res = await fetch(`${BASE}/api/v1/batches`, { method: "POST", headers: { ...HEADERS, "content-type": "application/json" }, body });
  const acceptMs = performance.now() - t0;
  const view = await res.json();
  if (res.status !== 202) { console.error(JSON.stringify(view).slice(0, 500)); throw new Error(`POST /api/v1/batches answered ${res.status}`); }
  return { view, acceptMs, bytes: body.length };
}

async function view(id) {
  const res = await fetch(`${BASE}/api/v1/batches/${id}`, { headers: HEADERS });
  return res.json();
}

/** Polls until final; checks the counts at every poll; calls onPoll with each view. */
async function drain(id, onPoll = async () => {}) {
  const deadline = Date.now() + Number(env.TIMEOUT_S) * 1000;
  let polls = 0, bad = 0, v;
  for (;;) {
    v = await view(id);
    polls++;
    const c = v.counts;
    if (c.queued + c.active + c.completed + c.failed + c.cancelled !== c.total) { bad++; console.error(`counts do not add up: ${JSON.stringify(c)}`); }
    if (v.finished_at !== undefined || Date.now() > deadline) break;
    await onPoll(v);
    await sleep(200);
  }
  check(bad === 0, `counts added up at every poll (${bad} of ${polls} did not)`);
  check(v.finished_at !== undefined, `batch ${id} finished within ${env.TIMEOUT_S} s`);
  return { final: v, polls };
}

/** Streams the results: counts lines per custom_id and status, validates structured outputs. */
async function results(id) {
  const res = await fetch(`${BASE}/api/v1/batches/${id}/results`, { headers: HEADERS });
  check(res.status === 200 && /x-ndjson/.test(res.headers.get("content-type") ?? ""), "results answer 200 application/x-ndjson");
  const seen = new Map(), byStatus = {}, pairs = new Set();
  let invalid = 0, structured = 0, chunks = 0, carry = "";
  const decoder = new TextDecoder();
  const take = (line) => {
    if (line === "") return;
    const r = JSON.parse(line);
    seen.set(r.custom_id, (seen.get(r.custom_id) ?? 0) + 1);
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.result) pairs.add(`${r.result.type}/${r.result.provider}`);
    if (r.status === "completed" && r.result?.type === "structured") { structured++; if (!validUser(r.result.output)) invalid++; }
  };
  for await (const chunk of res.body) {
    chunks++;
    const lines = (carry + decoder.decode(chunk, { stream: true })).split("\n");
    carry = lines.pop();
    lines.forEach(take);
  }
  take(carry + decoder.decode());
  return { seen, byStatus, invalid, structured, chunks, pairs };
}

// 1. idle
const idle = [];
for (let i = 0; i < Number(env.SYNC_SAMPLES); i++) idle.push(await sync("idle"));

// 2. the batch, with sync requests while it drains
const { view: accepted, acceptMs, bytes } = await submit(N, "acc");
check(accepted.status === "queued" && accepted.counts.total === N, "the 202 body says queued with the total");
console.log(`submitted ${N} items (${(bytes / 1e6).toFixed(1)} MB JSON): 202 in ${ms(acceptMs)}`);
const during = [];
let lastSync = 0;
const t0 = Date.now();
const { final, polls } = await drain(accepted.id, async (v) => {
  if (Date.now() - lastSync >= 1000 && v.counts.queued > 0) { lastSync = Date.now(); during.push(await sync("during")); }
});
const drainS = ((final.finished_at ?? Date.now()) - final.created_at) / 1000;
check(final.status === "completed" && final.counts.completed === N, `the batch completed: ${N} completed (got ${final.status}, ${JSON.stringify(final.counts)})`);

// 3. results
const r = await results(accepted.id);
const once = [...r.seen.values()].every((k) => k === 1);
check(r.seen.size === N && once, `results hold each custom_id exactly once (${r.seen.size} distinct, all once: ${once})`);
check(r.invalid === 0, `structured outputs valid against their schema (${r.invalid} of ${r.structured} invalid)`);
check(r.pairs.size === 9, `all 9 type/provider pairs present (${[...r.pairs].sort().join(", ")})`);

// 4. cancel part-way
const { view: c0 } = await submit(Number(env.CANCEL_ITEMS), "cxl");
let cancelled = null;
const cxl = await drain(c0.id, async (v) => {
  if (cancelled === null && v.counts.completed + v.counts.failed >= Number(env.CANCEL_AFTER)) {
    const res = await fetch(`${BASE}/api/v1/batches/${c0.id}/cancel`, { method: "POST", headers: HEADERS });
    cancelled = await res.json();
    check(res.status === 200, `cancel answered ${res.status}`);
  }
});
const cr = await results(c0.id);
check(cxl.final.counts.cancelled > 0 && cxl.final.status === "cancelled", `cancel part-way: cancelled > 0 (${JSON.stringify(cxl.final.counts)}, ${cxl.final.status})`);
check(cr.seen.size === Number(env.CANCEL_ITEMS) && [...cr.seen.values()].every((k) => k === 1), "the cancelled batch's results hold each custom_id exactly once");

console.log("");
console.log("== batch acceptance ==");
console.log(`accept: ${N} items -> 202 in ${ms(acceptMs)}`);
console.log(`drain:  ${final.counts.completed} completed, ${final.counts.failed} failed in ${drainS.toFixed(1)} s = ${(N / drainS).toFixed(0)} items/s (${polls} polls, counts added up at each)`);
console.log(`results: ${r.seen.size} custom_ids, each once; ${r.structured} structured outputs, ${r.invalid} invalid; streamed in ${r.chunks} chunks`);
console.log(`sync ${env.SYNC_MODEL}: idle p50 ${ms(pct(idle, 50))} p90 ${ms(pct(idle, 90))} | during the drain p50 ${ms(pct(during, 50))} p90 ${ms(pct(during, 90))} max ${ms(Math.max(...during))} (${during.length} requests)`);
console.log(`        of which queued (accepted -> started): idle p50 ${ms(pct(idleQueued, 50))} | during p50 ${ms(pct(duringQueued, 50))} max ${ms(Math.max(...duringQueued))}`);
console.log(`        and the provider call (simulator + SDK): idle p50 ${ms(pct(idleProvider, 50))} | during p50 ${ms(pct(duringProvider, 50))} max ${ms(Math.max(...duringProvider))}`);
console.log(`cancel: after ${cancelled ? cancelled.counts.completed + cancelled.counts.failed : "?"} finished -> final ${cxl.final.status} ${JSON.stringify(cxl.final.counts)}; counts added up at all ${cxl.polls} polls`);
console.log(failures.length === 0 ? "ALL CHECKS PASSED" : `${failures.length} CHECK(S) FAILED:\n  ${failures.join("\n  ")}`);
process.exit(failures.length === 0 ? 0 : 1);
NODE
