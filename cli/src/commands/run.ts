import { readFileSync } from "node:fs";
import type { JobView } from "../api-types.js";
import type { Ctx } from "../context.js";
import { ApiError, EXIT, UsageError } from "../errors.js";

/** `llmq run`: one request, waited for (polling its job when llmq answers 202), its output printed. */
export interface RunOptions {
  type: string | undefined;
  model: string | undefined;
  prompt: string | undefined;
  schema: string | undefined;
  maxTokens: string | undefined;
  intervalMs: number;
}

const TYPES = ["unstructured", "structured", "conversation"];

export async function runCommand(ctx: Ctx, opts: RunOptions, stdin: () => Promise<string>): Promise<number> {
  const type = opts.type ?? (opts.schema !== undefined ? "structured" : "unstructured");
  if (!TYPES.includes(type)) throw new UsageError(`--type must be one of ${TYPES.join(", ")}`);
  if (opts.model === undefined) throw new UsageError("--model is required (llmq's models: GET /api/v1/models)");
  if (opts.prompt === undefined) throw new UsageError("--prompt is required (--prompt - reads it from stdin)");
  if (type === "structured" && opts.schema === undefined) throw new UsageError("a structured run needs --schema FILE");
  const prompt = opts.prompt === "-" ? await stdin() : opts.prompt;
  const body: Record<string, unknown> = { model: opts.model };
  if (type === "conversation") body.messages = [{ role: "user", content: prompt }];
  else body.prompt = prompt;
  if (opts.schema !== undefined) body.schema = readSchema(opts.schema);
  if (opts.maxTokens !== undefined) {
    if (!/^\d+$/.test(opts.maxTokens)) throw new UsageError("--max-tokens must be a positive integer");
    body.max_tokens = Number(opts.maxTokens);
  }
  let answer: Record<string, unknown>;
  try {
    answer = await ctx.api.json<Record<string, unknown>>("POST", `/api/v1/${type}`, body);
  } catch (err) {
    if (err instanceof ApiError && err.jobFailed) return failed(ctx, err);
    throw err;
  }
  // 202: not finished within llmq's wait; the job is polled until it is.
  if (answer.status === "queued" || answer.status === "active") {
    const job = await waitForJob(ctx, String(answer.id), opts.intervalMs);
    if (job.status !== "completed" || job.result === undefined) {
      return failed(ctx, new ApiError(0, job.error?.code ?? "JOB_CANCELLED", job.error?.message ?? `job ${job.id} was ${job.status}`, { job_id: job.id }));
    }
    answer = job.result;
  }
  const output = answer.output;
  if (ctx.json) await ctx.out(`${JSON.stringify(answer)}\n`);
  else await ctx.out(`${typeof output === "string" ? output : JSON.stringify(output, null, 2)}\n`);
  return EXIT.ok;
}

async function waitForJob(ctx: Ctx, id: string, intervalMs: number): Promise<JobView> {
  for (;;) {
    const job = await ctx.api.json<JobView>("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
    if (job.status !== "queued" && job.status !== "active") return job;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function failed(ctx: Ctx, err: ApiError): Promise<number> {
  if (ctx.json) await ctx.out(`${JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } })}\n`);
  ctx.err.write(`llmq: the job failed: ${err.message}\n`);
  return EXIT.itemsFailed;
}

function readSchema(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read --schema ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--schema ${path} is not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
}
