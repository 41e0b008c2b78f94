/**
 * The comparator for llmq's hot path: the plain build a team would write first — Express + BullMQ, one
 * `job.waitUntilFinished(queueEvents)` per request, a BullMQ Worker calling the provider through the
 * OpenAI SDK with its default fetch. No auth, no validation, no result store: it does strictly less than
 * llmq, so a ratio in llmq's favour is not flattered by the baseline doing extra work.
 *
 * Deliberately outside the house rules (it reads process.env and imports npm packages llmq's load code
 * otherwise never uses): it is a measuring stick, not part of llmq.
 *
 *   node load/dist/baseline/plain-build.js api     PORT, REDIS_URL, BASELINE_PREFIX
 *   node load/dist/baseline/plain-build.js worker  REDIS_URL, BASELINE_PREFIX, SIMULATOR_URL, WORKER_CONCURRENCY
 */
import express from "express";
import { Queue, QueueEvents, Worker } from "bullmq";
import OpenAI from "openai";

const env = process.env;
const connection = { url: env.REDIS_URL ?? "redis://127.0.0.1:6379" };
const prefix = env.BASELINE_PREFIX ?? "llmqbaseline";
const QUEUE = "plain";

interface Body {
  model: string;
  prompt: string;
  max_tokens?: number;
}

async function runApi(): Promise<void> {
  const queue = new Queue(QUEUE, { connection, prefix });
  const events = new QueueEvents(QUEUE, { connection, prefix });
  await events.waitUntilReady();
  const app = express();
  app.use(express.json({ limit: "1mb" }));
  app.get("/api/v1/health", (_req, res) => void res.json({ status: "ok" }));
  app.post("/api/v1/unstructured", async (req, res) => {
    const body = req.body as Body;
    const job = await queue.add("unstructured", body, { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
    const result: unknown = await job.waitUntilFinished(events, 30_000);
    res.json(result);
  });
  const port = Number(env.PORT ?? 8000);
  const server = app.listen(port, "127.0.0.1", () => console.log(`baseline api on ${port}`));
  const stop = (): void => void server.close(() => void Promise.all([queue.close(), events.close()]).then(() => process.exit(0)));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

async function runWorker(): Promise<void> {
  const openai = new OpenAI({ apiKey: "sim-key", baseURL: `${env.SIMULATOR_URL ?? "http://127.0.0.1:8100"}/v1`, maxRetries: 0 });
  const worker = new Worker<Body>(
    QUEUE,
    async (job) => {
      const r = await openai.chat.completions.create({
        model: job.data.model,
        messages: [{ role: "user", content: job.data.prompt }],
        max_tokens: job.data.max_tokens ?? 256,
      });
      return { output: r.choices[0]?.message.content ?? "", usage: r.usage };
    },
    { connection: { ...connection, maxRetriesPerRequest: null }, prefix, concurrency: Number(env.WORKER_CONCURRENCY ?? 50) },
  );
  worker.on("error", (err) => console.error(err));
  console.log("baseline worker running");
  const stop = (): void => void worker.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

const role = process.argv[2];
if (role === "api") await runApi();
else if (role === "worker") await runWorker();
else {
  console.error("usage: plain-build.js api|worker");
  process.exit(2);
}
