import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { rawEnv } from "@llmq/shared";
import { percentile } from "./load-result.js";
import { REPO_ROOT, startStack, type Stack } from "./stack.js";
import { formatTable } from "./table.js";

/**
 * `npm run bench:stream`: time to first token of a streamed answer through llmq's queue (`stream: true` on
 * /v1/chat/completions and /v1/messages: API → Redis → worker → provider stream → Redis Stream → API → client)
 * against the same request sent straight to the simulator, in the same run, with the simulator pacing its
 * output (SIM_LATENCY_MS before the first event, SIM_TOKENS_PER_S after). Each client is the official SDK.
 * Requests go one at a time, then STREAM_CONCURRENCY at once; the ratio is llmq's median over the direct one.
 *
 * Settings: REDIS_URL; STREAM_REQUESTS (default 40 per cell); STREAM_CONCURRENCY (default 20);
 * SIM_LATENCY_MS (default 200); SIM_TOKENS_PER_S (default 100).
 */
interface Sample {
  ttftMs: number;
  totalMs: number;
  pieces: number;
}

interface Row {
  dialect: string;
  path: string;
  concurrency: number;
  requests: number;
  ttft_p50: number;
  ttft_p95: number;
  total_p50: number;
  pieces_p50: number;
}

const MAX_TOKENS = 60;

async function openaiStream(client: OpenAI, model: string, i: number): Promise<Sample> {
  const t0 = performance.now();
  let ttft = 0;
  let pieces = 0;
  const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: `Tell a short story, number ${i}` }], max_tokens: MAX_TOKENS, stream: true });
  for await (const chunk of stream) {
    if ((chunk.choices[0]?.delta.content ?? "") === "") continue;
    if (pieces++ === 0) ttft = performance.now() - t0;
  }
  return { ttftMs: ttft, totalMs: performance.now() - t0, pieces };
}

async function anthropicStream(client: Anthropic, model: string, i: number): Promise<Sample> {
  const t0 = performance.now();
  let ttft = 0;
  let pieces = 0;
  const stream = await client.messages.create({ model, max_tokens: MAX_TOKENS, stream: true, messages: [{ role: "user", content: `Tell a short story, number ${i}` }] });
  for await (const ev of stream) {
    if (ev.type !== "content_block_delta") continue;
    if (pieces++ === 0) ttft = performance.now() - t0;
  }
  return { ttftMs: ttft, totalMs: performance.now() - t0, pieces };
}

async function cell(run: (i: number) => Promise<Sample>, requests: number, concurrency: number): Promise<Sample[]> {
  const out: Sample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) out.push(await run(next++));
    }),
  );
  return out;
}

function row(dialect: string, path: string, concurrency: number, samples: Sample[]): Row {
  const sorted = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  const ttft = sorted(samples.map((s) => s.ttftMs));
  return {
    dialect,
    path,
    concurrency,
    requests: samples.length,
    ttft_p50: Math.round(percentile(ttft, 50)),
    ttft_p95: Math.round(percentile(ttft, 95)),
    total_p50: Math.round(percentile(sorted(samples.map((s) => s.totalMs)), 50)),
    pieces_p50: Math.round(percentile(sorted(samples.map((s) => s.pieces)), 50)),
  };
}

async function main(): Promise<void> {
  const redisUrl = rawEnv("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const requests = Number(rawEnv("STREAM_REQUESTS") ?? 40);
  const concurrency = Number(rawEnv("STREAM_CONCURRENCY") ?? 20);
  const latency = rawEnv("SIM_LATENCY_MS") ?? "200";
  const tps = rawEnv("SIM_TOKENS_PER_S") ?? "100";
  const stack: Stack = await startStack({ redisUrl, env: { SIM_LATENCY_MS: latency, SIM_TOKENS_PER_S: tps, WORKER_CONCURRENCY: "64" } });
  const rows: Row[] = [];
  try {
    const direct = { openai: new OpenAI({ baseURL: `${stack.simulatorUrl}/v1`, apiKey: "sim", maxRetries: 0 }), anthropic: new Anthropic({ baseURL: stack.simulatorUrl, apiKey: "sim", maxRetries: 0 }) };
    const llmq = { openai: new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 }), anthropic: new Anthropic({ baseURL: stack.apiUrl, apiKey: stack.apiKey, maxRetries: 0 }) };
    console.log(`llmq stream bench: simulator SIM_LATENCY_MS=${latency}, SIM_TOKENS_PER_S=${tps}, max_tokens ${MAX_TOKENS}, ${requests} requests per cell\n`);
    await openaiStream(llmq.openai, "gpt-4o-mini", -1); // warm-up: connections, the stream reader's connection
    for (const c of [1, concurrency]) {
      rows.push(row("openai", "simulator", c, await cell((i) => openaiStream(direct.openai, "gpt-4o-mini", i), requests, c)));
      rows.push(row("openai", "llmq /v1/chat/completions", c, await cell((i) => openaiStream(llmq.openai, "gpt-4o-mini", i), requests, c)));
      rows.push(row("anthropic", "simulator", c, await cell((i) => anthropicStream(direct.anthropic, "claude-haiku-4-5", i), requests, c)));
      rows.push(row("anthropic", "llmq /v1/messages", c, await cell((i) => anthropicStream(llmq.anthropic, "claude-haiku-4-5", i), requests, c)));
    }
  } finally {
    await stack.stop();
  }
  const ratio = (r: Row): string => {
    const base = rows.find((b) => b.dialect === r.dialect && b.concurrency === r.concurrency && b.path === "simulator");
    return base === undefined || r.path === "simulator" ? "1.00" : (r.ttft_p50 / Math.max(1, base.ttft_p50)).toFixed(2);
  };
  console.log(
    formatTable(
      rows.map((r) => ({
        client: r.dialect,
        to: r.path,
        conc: String(r.concurrency),
        req: String(r.requests),
        "TTFT p50 ms": String(r.ttft_p50),
        "TTFT p95 ms": String(r.ttft_p95),
        "× direct p50": ratio(r),
        "total p50 ms": String(r.total_p50),
        pieces: String(r.pieces_p50),
      })),
    ),
  );
  const dir = join(REPO_ROOT, "load", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `stream-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ latency_ms: Number(latency), tokens_per_s: Number(tps), max_tokens: MAX_TOKENS, rows }, null, 2));
  console.log(`\nwritten: ${file}`);
}

await main();
