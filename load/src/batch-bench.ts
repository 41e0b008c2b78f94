import { percentile } from "./load-result.js";

/**
 * The batch row: one mixed batch (structured, unstructured, conversation over three providers) submitted in
 * one POST, then polled until every item is final. Measures what a batch submitter sees.
 */

export interface BatchFigures {
  items: number;
  /** POST /api/v1/batches until its 202. */
  accept_ms: number;
  /**
   * Items finished per second over `drain_s`: from the POST (the plain drain's clock starts at its first add) to
   * the batch's own `finished_at`, which its last item's script sets (the plain drain's ends at its last completion).
   */
  drain_items_per_s: number;
  drain_s: number;
  /** From the 202 to the poll (every 200 ms) that first saw the batch final: what a submitter polling sees. */
  seen_s: number;
  /** Where drain_s ends: the batch's `finished_at`, or the last poll when the batch did not finish in time. */
  drain_end: "finished_at" | "poll";
  drained: boolean;
  completed: number;
  failed: number;
  /** GET /api/v1/batches/{id} while the batch drains. */
  poll_p50_ms: number;
  poll_p99_ms: number;
  polls: number;
}

const MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "llama-3.1-8b-instant"] as const;

/** Item i of the bench's mixed batch (also the plain BullMQ drain's workload, baseline/plain-drain.ts). */
export function batchItem(i: number): { custom_id: string; type: string; body: Record<string, unknown> } {
  const model = MODELS[i % MODELS.length] as string;
  const custom_id = `item-${i}`;
  switch (i % 3) {
    case 0:
      return { custom_id, type: "unstructured", body: { model, prompt: `Write one sentence about item ${i}.`, max_tokens: 50 } };
    case 1:
      return {
        custom_id,
        type: "structured",
        body: {
          model,
          prompt: `Generate user ${i} with a name and an age`,
          max_tokens: 100,
          schema: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] },
        },
      };
    default:
      return {
        custom_id,
        type: "conversation",
        body: {
          model,
          max_tokens: 50,
          messages: [
            { role: "user", content: `Hello, I am user ${i}.` },
            { role: "assistant", content: "Hello! How can I help?" },
            { role: "user", content: "Tell me a fact about the sea." },
          ],
        },
      };
  }
}

/**
 * True when the API has a batches route. The probe is an empty body, which a batches route refuses (400)
 * without creating anything; an API without the route answers 404.
 */
export async function batchesAvailable(apiUrl: string, apiKey: string): Promise<boolean> {
  const res = await fetch(`${apiUrl}/api/v1/batches`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: "{}",
  });
  await res.arrayBuffer();
  return res.status !== 404 && res.status !== 405;
}

export async function runBatch(apiUrl: string, apiKey: string, items: number, timeoutS: number): Promise<BatchFigures> {
  const body = JSON.stringify({ requests: Array.from({ length: items }, (_, i) => batchItem(i)), metadata: { source: "llmq bench" } });
  const headers = { "x-api-key": apiKey, "content-type": "application/json" };
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const res = await fetch(`${apiUrl}/api/v1/batches`, { method: "POST", headers, body });
  const accepted = performance.now();
  const text = await res.text();
  if (res.status !== 202 && res.status !== 200 && res.status !== 201) {
    throw new Error(`POST /api/v1/batches answered ${res.status}: ${text.slice(0, 500)}`);
  }
  const id = (JSON.parse(text) as { id: string }).id;
  const pollMs: number[] = [];
  let counts = { completed: 0, failed: 0, cancelled: 0, total: items };
  let drained = false;
  let finishedAt: number | undefined;
  const deadline = accepted + timeoutS * 1000;
  while (performance.now() < deadline) {
    const p0 = performance.now();
    const r = await fetch(`${apiUrl}/api/v1/batches/${id}`, { headers: { "x-api-key": apiKey } });
    const state = (await r.json()) as { status?: string; counts?: Partial<typeof counts>; finished_at?: number };
    pollMs.push(performance.now() - p0);
    counts = { ...counts, ...state.counts };
    if (counts.completed + counts.failed + counts.cancelled >= counts.total || /^(completed|completed_with_errors|cancelled)$/.test(state.status ?? "")) {
      drained = true;
      finishedAt = state.finished_at;
      break;
    }
    await new Promise((r2) => setTimeout(r2, 200));
  }
  const seenS = (performance.now() - accepted) / 1000;
  // The API's clock is this machine's: finished_at and t0Epoch compare directly. Without one (not drained), the
  // drain is counted to now from the POST.
  const drainS = finishedAt !== undefined ? Math.max(0.001, (finishedAt - t0Epoch) / 1000) : (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(pollMs).sort();
  return {
    items,
    accept_ms: accepted - t0,
    drain_items_per_s: (counts.completed + counts.failed) / drainS,
    drain_s: drainS,
    seen_s: seenS,
    drain_end: finishedAt !== undefined ? "finished_at" : "poll",
    drained,
    completed: counts.completed,
    failed: counts.failed,
    poll_p50_ms: percentile(sorted, 50),
    poll_p99_ms: percentile(sorted, 99),
    polls: pollMs.length,
  };
}
