import type { Request, RequestHandler, Response, Router } from "express";
import { AppError, type ChatResult, type Config, type FinalJobRecord, type Keys, type ModelRegistry } from "@llmq/shared";
import { jsonBody } from "../http/body.js";
import { idempotencyKey, recordError } from "../jobs/job-routes.js";
import type { JobRequestPlanner } from "../jobs/job-request.js";
import type { JobService } from "../jobs/job-service.js";
import type { ResultWaiter } from "../jobs/result-waiter.js";
import type { ApiMetrics } from "../metrics/api-metrics.js";
import { anthropicMessage } from "./anthropic-render.js";
import { ChatRelay, type FinalOutcome } from "./chat-relay.js";
import type { ChatParts } from "./chat-request.js";
import type { Dialect } from "./compat-errors.js";
import { chatCompletion, jobIdOfCompletion } from "./openai-render.js";
import type { StreamReader } from "./stream-reader.js";

/** POST /v1/chat/completions, GET /v1/chat/completions/{id}, POST /v1/messages: parse the HTTP bits, ask the job service, answer. */
export interface ChatRouteDeps {
  config: Config;
  jobs: JobService;
  planner: JobRequestPlanner;
  waiter: ResultWaiter;
  streams: StreamReader;
  keys: Keys;
  metrics: ApiMetrics;
  models: ModelRegistry;
}

export function mountChatRoutes(router: Router, deps: ChatRouteDeps, json: RequestHandler): void {
  router.post("/v1/chat/completions", json, (req: Request, res: Response) => chat("openai", req, res, deps));
  router.post("/v1/messages", json, (req: Request, res: Response) => chat("anthropic", req, res, deps));
  router.get("/v1/chat/completions/:id", (req: Request<{ id: string }>, res: Response) => getCompletion(req, res, deps));
}

async function chat(dialect: Dialect, req: Request, res: Response, deps: ChatRouteDeps): Promise<void> {
  const body = jsonBody(req);
  const raw = body as { stream?: unknown; stream_options?: { include_usage?: unknown } | null };
  const streaming = raw.stream === true;
  let parts: ChatParts | undefined;
  const relay = streaming ? new ChatRelay(dialect, res, deps.streams, res.locals.requestId, raw.stream_options?.include_usage === true) : undefined;
  const startedAt = Date.now();
  const answer = await deps.jobs.submit("chat", body, {
    owner: res.locals.owner,
    requestId: res.locals.requestId,
    waitMs: deps.config.api.maxWaitS * 1000,
    idempotencyKey: idempotencyKey(req),
    onAbort: (cancel) => (res.closed ? cancel() : res.once("close", cancel)),
    plan: async (ctx) => {
      const planned = await deps.planner.planChat(dialect, body, ctx);
      parts = planned.parts;
      return planned;
    },
    onEnqueued: (jobId) => relay?.begin(jobId, parts?.model ?? "", deps.keys.stream(jobId), startedAt),
  });
  deps.metrics.outcomes.inc({ type: "chat", outcome: answer.kind === "accepted" ? "accepted" : answer.record.status });
  if (answer.kind === "accepted") {
    const timeout = stillRunning(answer.view.id, deps.config.api.maxWaitS);
    if (relay === undefined) throw timeout;
    relay.begin(answer.view.id, parts?.model ?? "", deps.keys.stream(answer.view.id), startedAt);
    return relay.finish({ timeout: timeout.message });
  }
  const record = answer.record;
  res.locals.jobId = record.id;
  if (answer.replayed) res.setHeader("Idempotent-Replayed", "true");
  if (relay !== undefined) {
    relay.begin(record.id, record.result?.model ?? parts?.model ?? "", deps.keys.stream(record.id), record.created_at);
    return relay.finish(outcomeOf(record));
  }
  res.setHeader("llmq-job-id", record.id);
  res.json(render(dialect, record));
}

/**
 * A chat job by its completion id (`chatcmpl-<job id>`, or the bare job id): the completion once finished; with
 * `Accept: text/event-stream`, its stream, resumed after `Last-Event-ID` when the client sends one.
 */
async function getCompletion(req: Request<{ id: string }>, res: Response, deps: ChatRouteDeps): Promise<void> {
  const id = jobIdOfCompletion(req.params.id);
  const wantsStream = (req.headers.accept ?? "").includes("text/event-stream");
  const pending = wantsStream ? deps.waiter.wait(id, deps.config.api.maxWaitS * 1000) : undefined;
  const view = await deps.jobs.get(id, res.locals.owner).catch((err: unknown) => {
    pending?.cancel();
    throw err;
  });
  if (view.type !== "chat") {
    pending?.cancel();
    throw new AppError("NOT_FOUND", `no chat completion ${req.params.id.slice(0, 80)}`);
  }
  res.locals.jobId = view.id;
  const final = view.status === "completed" || view.status === "failed" || view.status === "cancelled";
  if (pending === undefined) {
    if (!final) throw new AppError("NOT_FOUND", `chat completion ${req.params.id.slice(0, 80)} is ${view.status}; ask again with Accept: text/event-stream to follow it`, { details: { job_id: view.id, status: view.status }, headers: { "Retry-After": "1" } });
    res.json(render("openai", { ...view, owner: res.locals.owner, finished_at: view.finished_at ?? Date.now(), status: view.status as FinalJobRecord["status"] }));
    return;
  }
  const lastEventId = req.headers["last-event-id"];
  const from = typeof lastEventId === "string" && /^\d+-\d+$/.test(lastEventId) ? lastEventId : "0";
  const relay = new ChatRelay("openai", res, deps.streams, res.locals.requestId, false);
  const key = deps.keys.stream(view.id);
  const seen = from === "0" ? [] : await deps.streams.upTo(key, from);
  relay.begin(view.id, view.result?.model ?? "", key, view.created_at, from, seen);
  res.once("close", pending.cancel);
  if (final) {
    pending.cancel();
    return relay.finish({ status: view.status as FinalOutcome["status"], result: view.result as ChatResult | undefined, error: view.error });
  }
  const outcome = await pending.promise;
  if (outcome.kind === "done") return relay.finish(outcomeOf(outcome.record));
  const late = await deps.jobs.get(id, res.locals.owner).catch(() => undefined);
  if (late !== undefined && (late.status === "completed" || late.status === "failed" || late.status === "cancelled")) {
    return relay.finish({ status: late.status, result: late.result as ChatResult | undefined, error: late.error });
  }
  return relay.finish({ timeout: stillRunning(id, deps.config.api.maxWaitS).message });
}

function outcomeOf(record: FinalJobRecord): FinalOutcome {
  return { status: record.status, result: record.result as ChatResult | undefined, error: record.error };
}

function render(dialect: Dialect, record: FinalJobRecord): Record<string, unknown> {
  if (record.status !== "completed" || record.result === undefined) throw recordError(record);
  const result = record.result as ChatResult;
  return dialect === "openai" ? chatCompletion(result, record.created_at) : anthropicMessage(result);
}

function stillRunning(jobId: string, waitS: number): AppError {
  return new AppError("RESULT_TIMEOUT", `the answer took longer than MAX_WAIT_S (${waitS} s); the job goes on: GET /v1/chat/completions/chatcmpl-${jobId} or /api/v1/jobs/${jobId}`, {
    details: { job_id: jobId },
    headers: { "Retry-After": "1" },
  });
}
