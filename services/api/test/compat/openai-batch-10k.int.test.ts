import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI, { toFile } from "openai";
import { KEYS, startStack, type Stack } from "../helpers.js";

/**
 * Issue 11's done-when: a 10,000-line JSONL batch runs end to end through /v1/files and /v1/batches with the
 * `openai` client, and its output file holds each custom_id once. The in-process stack (API, worker, simulator)
 * runs it; the figures are printed, never asserted.
 */
const LINES = 10_000;
const MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant"];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack("compat-openai-batch-10k", { env: { WORKER_CONCURRENCY: "50" } });
});
afterAll(async () => stack?.close());

describe("a 10,000-line batch file with the openai client", () => {
  it("runs end to end, and the output file holds each custom_id once", { timeout: 180_000 }, async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEYS.alice, maxRetries: 0, timeout: 120_000 });
    const lines = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({ custom_id: `item-${i}`, method: "POST", url: "/v1/chat/completions", body: { model: MODELS[i % MODELS.length], messages: [{ role: "user", content: `Say something about the number ${i}` }], max_tokens: 30 } }),
    );
    const text = `${lines.join("\n")}\n`;
    const t0 = performance.now();
    const file = await client.files.create({ file: await toFile(Buffer.from(text), "big.jsonl"), purpose: "batch" });
    expect(file.bytes).toBe(Buffer.byteLength(text));
    const t1 = performance.now();
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(created.request_counts?.total).toBe(LINES);
    const t2 = performance.now();
    let batch = created;
    const deadline = Date.now() + 150_000;
    while (batch.status !== "completed" && batch.status !== "cancelled") {
      if (Date.now() > deadline) throw new Error(`still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
      await new Promise((r) => setTimeout(r, 250));
      batch = await client.batches.retrieve(created.id);
    }
    const t3 = performance.now();
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    expect(batch.error_file_id).toBeNull();

    const out = await (await client.files.content(batch.output_file_id!)).text();
    const t4 = performance.now();
    const seen = new Map<string, number>();
    for (const line of out.split("\n")) {
      if (line === "") continue;
      const parsed = JSON.parse(line) as { custom_id: string; response: { status_code: number; body: { object: string; model: string } } };
      expect(parsed.response.status_code).toBe(200);
      expect(parsed.response.body.object).toBe("chat.completion");
      expect(parsed.response.body.model).toBe(MODELS[Number(parsed.custom_id.slice(5)) % MODELS.length]);
      seen.set(parsed.custom_id, (seen.get(parsed.custom_id) ?? 0) + 1);
    }
    expect(seen.size).toBe(LINES);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < LINES; i++) expect(seen.has(`item-${i}`)).toBe(true);
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(`[batch-10k] ${LINES} lines, ${(file.bytes / 1e6).toFixed(1)} MB: upload ${s(t0, t1)} s, create (every line checked) ${s(t1, t2)} s, run ${s(t2, t3)} s, output file ${(Buffer.byteLength(out) / 1e6).toFixed(1)} MB read in ${s(t3, t4)} s; total ${s(t0, t4)} s`);
  });
});
