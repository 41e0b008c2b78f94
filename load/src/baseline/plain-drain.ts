/**
 * The comparator for llmq's batch drain: what a team would write first to push N items through a provider —
 * `queue.addBulk` of every item, one BullMQ Worker (the same concurrency as llmq's) calling the provider through
 * the OpenAI SDK with its default fetch. The workload is the bench's mixed batch item for item (batch-bench.ts);
 * structured items ask for `response_format: json_schema` and parse the answer, nothing more. No batch record,
 * no per-item result store, no fairness or rate limits: it does strictly less than llmq's batches.
 *
 * One process, producer and worker together, so the bench can read its CPU. It prints one line,
 * `DRAIN_RESULT {...}`: jobs/s from the first add to the last completion, and its own CPU and peak RSS. With
 * DRAIN_WARMUP_ITEMS, that many items (the workload's first ones) are drained first, unmeasured, as the bench
 * warms llmq's worker with a batch of the same size before its measured one.
 *
 *   node load/dist/baseline/plain-drain.js   REDIS_URL, BASELINE_PREFIX, SIMULATOR_URL, WORKER_CONCURRENCY,
 *                                            DRAIN_ITEMS (10000), DRAIN_WARMUP_ITEMS (0), DRAIN_TIMEOUT_S (150)
 *
 * Outside the house rules like plain-build.ts (reads process.env, imports bullmq/openai): a measuring stick.
 */
import { Queue, Worker } from "bullmq";
import OpenAI from "openai";
import { batchItem } from "../batch-bench.js";

const env = process.env;
const connection = { url: env.REDIS_URL ?? "redis://127.0.0.1:6379" };
const prefix = env.BASELINE_PREFIX ?? "llmqbaseline-drain";
const QUEUE = "plain-drain";
const items = Number(env.DRAIN_ITEMS ?? 10_000);
const warmupItems = Number(env.DRAIN_WARMUP_ITEMS ?? 0);
const timeoutS = Number(env.DRAIN_TIMEOUT_S ?? 150);

interface ItemBody {
  model: string;
  prompt?: string;
  messages?: { role: "user" | "assistant"; content: string }[];
  max_tokens: number;
  schema?: Record<string, unknown>;
}

export interface PlainDrainFigures {
  items: number;
  /** Items drained before the measured ones, unmeasured. */
  warmup_items: number;
  completed: number;
  failed: number;
  drained: boolean;
  drain_s: number;
  jobs_per_s: number;
  cpu_ms: number;
  peak_rss_mb: number;
}

const openai = new OpenAI({ apiKey: "sim-key", baseURL: `${env.SIMULATOR_URL ?? "http://127.0.0.1:8100"}/v1`, maxRetries: 0, timeout: 60_000 });

async function call(body: ItemBody): Promise<unknown> {
  const messages = body.messages ?? [{ role: "user" as const, content: body.prompt ?? "" }];
  const r = await openai.chat.completions.create({
    model: body.model,
    messages,
    max_tokens: body.max_tokens,
    ...(body.schema ? { response_format: { type: "json_schema" as const, json_schema: { name: "item", schema: body.schema } } } : {}),
  });
  const content = r.choices[0]?.message.content ?? "";
  return { output: body.schema ? (JSON.parse(content) as unknown) : content, usage: r.usage };
}

async function main(): Promise<void> {
  const queue = new Queue(QUEUE, { connection, prefix });
  let completed = 0;
  let failed = 0;
  let peakRss = process.memoryUsage.rss();
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 250);
  let target = 0;
  let done: () => void = () => undefined;
  const count = (ok: boolean): void => {
    if (ok) completed++;
    else failed++;
    if (completed + failed >= target) done();
  };
  const worker = new Worker<ItemBody>(QUEUE, async (job) => call(job.data), {
    connection: { ...connection, maxRetriesPerRequest: null },
    prefix,
    concurrency: Number(env.WORKER_CONCURRENCY ?? 50),
  });
  worker.on("completed", () => count(true));
  worker.on("failed", () => count(false));
  worker.on("error", (err) => console.error(err));
  await worker.waitUntilReady();
  /** Adds items [from, from + n) with addBulk, 1,000 at a time; resolves when they have all finished. */
  const drain = async (from: number, n: number): Promise<void> => {
    completed = 0;
    failed = 0;
    target = n;
    const finished = new Promise<void>((resolve) => (done = resolve));
    for (let start = 0; start < n; start += 1000) {
      const chunk = Array.from({ length: Math.min(1000, n - start) }, (_, k) => ({
        name: "item",
        data: batchItem(from + start + k).body as unknown as ItemBody,
        opts: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } },
      }));
      await queue.addBulk(chunk);
    }
    await finished;
  };
  const timesOut = (p: Promise<void>): Promise<boolean> => Promise.race([p.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutS * 1000).unref())]);
  if (warmupItems > 0 && (await timesOut(drain(0, warmupItems)))) throw new Error(`the ${warmupItems} warm-up items did not drain within ${timeoutS} s`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timedOut = await timesOut(drain(0, items));
  const drainS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(rssTimer);
  const figures: PlainDrainFigures = {
    items,
    warmup_items: warmupItems,
    completed,
    failed,
    drained: !timedOut,
    drain_s: drainS,
    jobs_per_s: (completed + failed) / drainS,
    cpu_ms: (cpu.user + cpu.system) / 1000,
    peak_rss_mb: peakRss / 1024 / 1024,
  };
  console.log(`DRAIN_RESULT ${JSON.stringify(figures)}`);
  // The bench deletes this prefix's keys afterwards (SCAN + UNLINK).
  await worker.close(true);
  await queue.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
