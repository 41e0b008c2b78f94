import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startStack, type Stack } from "@llmq/load";
import { runCli, scratchDir } from "./run-cli.js";

/**
 * The built `llmq` against a started llmq: the API, a worker and the simulator as the processes `npm start` runs
 * (load's startStack), with a 20 ms simulator so a batch takes long enough to show progress. Failures are
 * injected with the simulator's prompt markers: `[[sim:400x1]]` fails an item's first call only (a 400 is not
 * retried within a run), so a retry of the batch completes it.
 */
let stack: Stack;
let env: Record<string, string>;
const dir = scratchDir();

beforeAll(async () => {
  stack = await startStack({ redisUrl: inject("redisUrl"), env: { SIM_LATENCY_MS: "20", WORKER_CONCURRENCY: "8", JOB_BACKOFF_MS: "10", BATCH_FEED_INTERVAL_MS: "20" } });
  env = { LLMQ_URL: stack.apiUrl, LLMQ_API_KEY: stack.apiKey };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface Line {
  status: string;
  custom_id: string;
  job_id: string;
  result?: { output: unknown };
}

function openAiLines(n: number, marker: (i: number) => string = () => ""): string {
  const line = (i: number) => ({ custom_id: `req-${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `Say something about number ${i}.${marker(i)}` }], max_tokens: 30 } });
  return `${Array.from({ length: n }, (_, i) => JSON.stringify(line(i))).join("\n")}\n`;
}

function readLines(path: string): Line[] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line);
}

function expectEachOnce(lines: Line[], n: number, prefix = "req-"): void {
  expect(lines).toHaveLength(n);
  expect(new Set(lines.map((l) => l.custom_id))).toEqual(new Set(Array.from({ length: n }, (_, i) => `${prefix}${i}`)));
}

describe("llmq batch submit --wait --out", () => {
  it("an OpenAI JSONL file: the batch id first, plain progress lines (not a terminal), every result in --out, exit 0", async () => {
    const input = join(dir, "openai.jsonl");
    writeFileSync(input, openAiLines(300));
    const out = join(dir, "openai-out.ndjson");
    const r = await runCli(["batch", "submit", input, "--wait", "--out", out, "--interval", "100"], { env });
    expect(r.stderr).not.toMatch(/llmq:/);
    expect(r.code).toBe(0);
    const [idLine, ...rest] = r.stdout.split("\n");
    expect(idLine).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(rest.join("\n")).toContain(`${idLine}  completed  done 300/300  completed 300  failed 0`);
    expect(rest.join("\n")).toContain(`results: 300 lines in ${out}`);
    // Progress: plain lines, no ANSI, at least one before the end, the last one complete.
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("done "));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(r.stderr).not.toContain("\x1b");
    expect(progress.at(-1)).toMatch(/^done 300\/300 \(100\.0%\)  failed 0  active 0  rate [\d.-]+(\/s)?  ETA 0s$/);
    expect(progress[0]).not.toMatch(/^done 300\/300/);
    // This llmq takes chat items: the lines go as they are (the conversion is for an llmq without them).
    expect(r.stderr).toContain("OpenAI lines sent as chat items");
    const lines = readLines(out);
    expectEachOnce(lines, 300);
    expect(lines.every((l) => l.status === "completed" && typeof l.result?.output === "string")).toBe(true);
    expect(new Set(lines.map((l) => (l.result as { type?: string } | undefined)?.type))).toEqual(new Set(["chat"]));
  });

  it("a file larger than one batch is split into several batches, followed as one; --json gives the ids first and a summary last", async () => {
    const input = join(dir, "split.jsonl");
    writeFileSync(input, openAiLines(250));
    const out = join(dir, "split-out.ndjson");
    const r = await runCli(["batch", "submit", input, "--wait", "--out", out, "--max-items", "100", "--interval", "100", "--json"], { env });
    expect(r.code).toBe(0);
    const json = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toHaveLength(2);
    const ids = json[0]?.batch_ids as string[];
    expect(ids).toHaveLength(3);
    expect(json[1]).toMatchObject({ counts: { total: 250, completed: 250, failed: 0 }, out: { path: out, lines: 250, by_status: { completed: 250 } } });
    expect((json[1]?.batches as { id: string; counts: { total: number } }[]).map((b) => [b.id, b.counts.total])).toEqual([
      [ids[0], 100],
      [ids[1], 100],
      [ids[2], 50],
    ]);
    expectEachOnce(readLines(out), 250);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("done ")).at(-1)).toMatch(/^done 250\/250/);
  });
});

describe("failures, retry and resume", () => {
  it("items that fail make exit code 1; llmq batch retry --wait brings the batch to completed and updates --out in place", async () => {
    const input = join(dir, "faults.jsonl");
    const failing = new Set([3, 17, 42, 77]);
    writeFileSync(input, openAiLines(100, (i) => (failing.has(i) ? " [[sim:400x1]]" : "")));
    const out = join(dir, "faults-out.ndjson");
    const first = await runCli(["batch", "submit", input, "--wait", "--out", out, "--interval", "100"], { env });
    expect(first.code).toBe(1);
    const id = first.stdout.split("\n")[0] as string;
    expect(first.stdout).toContain(`${id}  completed_with_errors  done 100/100  completed 96  failed 4`);
    const before = readLines(out);
    expectEachOnce(before, 100);
    expect(before.filter((l) => l.status === "failed").map((l) => l.custom_id).sort()).toEqual([...failing].map((i) => `req-${i}`).sort());
    expect((await runCli(["batch", "status", id], { env })).code).toBe(1);

    const retry = await runCli(["batch", "retry", id, "--wait", "--out", out, "--interval", "100"], { env });
    expect(retry.stderr).not.toMatch(/llmq:/);
    expect(retry.code).toBe(0);
    expect(retry.stdout.split("\n")[0]).toBe(id);
    expect(retry.stdout).toContain(`${id}  completed  done 100/100  completed 100  failed 0  cancelled 0  retries 1`);
    const after = readLines(out);
    expectEachOnce(after, 100);
    expect(after.every((l) => l.status === "completed")).toBe(true);
    for (const i of failing) expect(after.find((l) => l.custom_id === `req-${i}`)?.job_id).toBe(`${id}-${i}-r1`);

    const status = await runCli(["batch", "status", id, "--json"], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: "completed", retries: 1, counts: { completed: 100, failed: 0 } });
    const again = await runCli(["batch", "retry", id], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to retry");
  });

  it("a results download cut part-way (a partial last line) and run again ends with every line once, the same as one whole download", async () => {
    const input = join(dir, "resume.jsonl");
    writeFileSync(input, openAiLines(400));
    const submitted = await runCli(["batch", "submit", input, "--wait", "--interval", "100"], { env });
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.split("\n")[0] as string;
    const whole = join(dir, "whole.ndjson");
    const w = await runCli(["batch", "results", id, "--out", whole], { env });
    expect(w.code).toBe(0);
    expect(w.stdout).toContain(`${whole}: 400 lines (400 new, 0 already there): completed 400`);

    // What a download killed half-way leaves: the first lines, the last of them cut mid-way.
    const cut = join(dir, "cut.ndjson");
    writeFileSync(cut, readFileSync(whole));
    truncateSync(cut, Math.floor(statSync(whole).size / 2));
    const kept = readFileSync(cut, "utf8").split("\n").length - 1;
    expect(readFileSync(cut, "utf8").endsWith("\n")).toBe(false);
    const resumed = await runCli(["batch", "results", id, "--out", cut], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`${cut}: 400 lines (${400 - kept} new, ${kept} already there, a partial last line removed): completed 400`);
    expectEachOnce(readLines(cut), 400);
    expect(new Set(readFileSync(cut, "utf8").split("\n"))).toEqual(new Set(readFileSync(whole, "utf8").split("\n")));
    // Run once more: nothing to add.
    expect((await runCli(["batch", "results", id, "--out", cut], { env })).stdout).toContain("400 lines (0 new, 400 already there)");
    // Without --out the lines go to stdout.
    const printed = await runCli(["batch", "results", id], { env });
    expect(printed.stdout.split("\n").filter((l) => l !== "")).toHaveLength(400);
  });
});

describe("llmq batch list, cancel and llmq run", () => {
  it("list shows the key's batches newest first with a cursor; cancel stops a batch's pending items", async () => {
    const input = join(dir, "slow.ndjson");
    const items = Array.from({ length: 300 }, (_, i) => ({ custom_id: `s${i}`, type: "unstructured", body: { model: "gpt-4o-mini", prompt: `Slow ${i}` } }));
    writeFileSync(input, items.map((it) => JSON.stringify(it)).join("\n"));
    const submitted = await runCli(["batch", "submit", input], { env });
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    const cancelled = await runCli(["batch", "cancel", id, "--json"], { env });
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id, cancel_requested_at: expect.any(Number) });
    const list = await runCli(["batch", "list", "--limit", "2"], { env });
    expect(list.code).toBe(0);
    const [newest, , cursorLine] = list.stdout.trim().split("\n");
    expect(newest?.startsWith(`${id}  `)).toBe(true);
    expect(cursorLine).toMatch(/^next page: llmq batch list --cursor \S+$/);
    const all = await runCli(["batch", "list", "--all", "--json", "--limit", "2"], { env });
    const pages = all.stdout.trim().split("\n").map((l) => JSON.parse(l) as { data: { id: string }[]; next_cursor?: string });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => p.data.length <= 2)).toBe(true);
    expect(pages.at(-1)?.next_cursor).toBeUndefined();
    const oneGo = JSON.parse((await runCli(["batch", "list", "--json", "--limit", "100"], { env })).stdout) as { data: { id: string }[] };
    expect(pages.flatMap((p) => p.data.map((b) => b.id))).toEqual(oneGo.data.map((b) => b.id));
    expect(oneGo.data[0]?.id).toBe(id);
  });

  it("run prints the output and exits 0; a job that fails exits 1; a refused request exits 2", async () => {
    const text = await runCli(["run", "--model", "gpt-4o-mini", "--prompt", "Say hello"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout.trim().length).toBeGreaterThan(0);
    const schema = join(dir, "schema.json");
    writeFileSync(schema, JSON.stringify({ type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] }));
    const structured = await runCli(["run", "--model", "gpt-4o-mini", "--prompt", "A user with a name and an age", "--schema", schema, "--json"], { env });
    expect(structured.code).toBe(0);
    expect(JSON.parse(structured.stdout)).toMatchObject({ type: "structured", output: { name: expect.any(String), age: expect.any(Number) } });
    const failed = await runCli(["run", "--model", "gpt-4o-mini", "--prompt", "Fail [[sim:400xall]]"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the job failed: PROVIDER_ERROR");
    const refused = await runCli(["run", "--model", "no-such-model", "--prompt", "hi"], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("UNKNOWN_MODEL");
  });
});
