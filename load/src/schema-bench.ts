/**
 * `npm run bench:schema`: what a structured request whose schema was never seen before costs, step by step, in one
 * process, against the same request whose schema repeats. The steps are the ones llmq runs on every structured
 * request: parsing the body (the API), the schema guard's check at the door (the API), the guard's check of an
 * answer (the worker) and parsing that answer (the worker, then the API in the final record).
 *
 * The bodies are the bench's (./structured-body.ts, as load/wrk/structured_new_schema.lua sends them): property
 * names that hold a per-request tag. V8 gives an object a hidden class per set of property names, so parsing or
 * building an object with names never seen costs more than the same text with names seen before; this prints how
 * much, next to what the guard's caches save for a schema that repeats. Rounds alternate the two sides and each
 * figure is the median round's; it asserts nothing. Settings: SCHEMA_BENCH_ROUNDS (default 5),
 * SCHEMA_BENCH_REQUESTS (per round and side, default 20000).
 */
import { pathToFileURL } from "node:url";
import { rawEnv, SchemaGuard } from "@llmq/shared";
import { medianOf } from "./rounds.js";
import { positiveInt } from "./settings.js";
import { structuredAnswer, structuredBody } from "./structured-body.js";
import { formatTable, type TableRow } from "./table.js";

const STEPS = ["parse body", "guard check (API)", "parse answer", "guard output check (worker)"] as const;
type Step = (typeof STEPS)[number];
type Side = "same" | "new";

function perStep<T>(init: () => T): Record<Step, T> {
  return Object.fromEntries(STEPS.map((s) => [s, init()])) as Record<Step, T>;
}

/** One round of one side: µs per request for each step. */
function round(side: Side, guard: SchemaGuard, requests: number, run: string, offset: number): Record<Step, number> {
  const tags = Array.from({ length: requests }, (_, i) => (side === "same" ? `${run}_same` : `${run}_r${offset + i}`));
  const bodies = tags.map((t) => structuredBody(t));
  const answers = tags.map((t) => structuredAnswer(t));
  const spent = perStep(() => 0);
  let issues = 0;
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const body = JSON.parse(bodies[i] as string) as { schema: Record<string, unknown> };
    const t1 = performance.now();
    const { schema, hash } = guard.check(body.schema);
    const t2 = performance.now();
    const answer = JSON.parse(answers[i] as string) as unknown;
    const t3 = performance.now();
    issues += guard.outputCheck(schema, hash)(answer).length;
    const t4 = performance.now();
    spent["parse body"] += t1 - t0;
    spent["guard check (API)"] += t2 - t1;
    spent["parse answer"] += t3 - t2;
    spent["guard output check (worker)"] += t4 - t3;
  }
  if (issues > 0) throw new Error(`an answer failed its schema (${issues} issues): the bench's bodies and answers disagree`);
  for (const s of STEPS) spent[s] = (spent[s] * 1000) / requests;
  return spent;
}

function main(): void {
  const rounds = positiveInt(rawEnv("SCHEMA_BENCH_ROUNDS"), 5, "SCHEMA_BENCH_ROUNDS");
  const requests = positiveInt(rawEnv("SCHEMA_BENCH_REQUESTS"), 20_000, "SCHEMA_BENCH_REQUESTS");
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  // One guard per side, as each process keeps one: the repeated schema's side reaches its caches, the other never can.
  const guards: Record<Side, SchemaGuard> = { same: new SchemaGuard(), new: new SchemaGuard() };
  const figures: Record<Side, Record<Step, number[]>> = { same: perStep(() => []), new: perStep(() => []) };
  console.log(`llmq schema bench · Node ${process.version} · ${rounds} rounds of ${requests} requests a side, sides alternating`);
  for (let r = 0; r < rounds; r++) {
    for (const side of (r % 2 === 0 ? ["same", "new"] : ["new", "same"]) as Side[]) {
      const f = round(side, guards[side], requests, run, r * requests);
      for (const s of STEPS) figures[side][s].push(f[s]);
    }
    process.stderr.write(`  round ${r + 1}/${rounds} done\n`);
  }
  const fmt = (n: number | null): string => (n === null ? "n/a" : n.toFixed(2));
  const ratio = (fresh: number | null, same: number | null): string => (fresh === null || same === null || same <= 0 ? "n/a" : `${(fresh / same).toFixed(1)}×`);
  const row = (step: string, same: number | null, fresh: number | null): TableRow => ({ step, "µs, schema repeated": fmt(same), "µs, new schema": fmt(fresh), "new over repeated": ratio(fresh, same) });
  const rows = STEPS.map((s) => row(s, medianOf(figures.same[s]), medianOf(figures.new[s])));
  const total = (side: Side): number | null => {
    const per = STEPS.map((s) => medianOf(figures[side][s]));
    return per.some((v) => v === null) ? null : per.reduce<number>((a, b) => a + (b as number), 0);
  };
  rows.push(row("all four", total("same"), total("new")));
  console.log("");
  console.log(formatTable(rows));
  console.log("");
  console.log("µs per request, median of the rounds. Same bodies and answers on both sides but for the tag in their property");
  console.log("names: repeated, the names are known to V8 and the schema to the guard's caches (its checked text, then its");
  console.log("compiled validator); new, neither is. Parsing is where the names alone cost; the guard's rows add its caches.");
}

// Run as a script (npm run bench:schema); imported by the tests for its bodies and answers only.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
