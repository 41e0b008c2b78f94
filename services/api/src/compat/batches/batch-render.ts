import { AppError, isFinalBatchStatus, type BatchResultLine, type BatchView, type ChatResult } from "@llmq/shared";
import { anthropicMessage } from "../anthropic-render.js";
import { compatErrorBody } from "../compat-errors.js";
import { chatCompletion } from "../openai-render.js";
import type { CompatBatchRecord } from "./compat-batch-store.js";
import type { FileMeta } from "./file-store.js";

/**
 * llmq batches, their result lines and files in the shapes of OpenAI's Batch API
 * (https://platform.openai.com/docs/api-reference/batch) and Anthropic's Message Batches
 * (https://docs.anthropic.com/en/api/creating-message-batches). Ids: an OpenAI batch id is llmq's own
 * (`batch_<hex>`); an Anthropic one is `msgbatch_<hex>` over the same hex; the generated output and error files
 * are `file-out-<hex>` and `file-err-<hex>`, derived from the batch, not stored.
 *
 * Status, OpenAI: items waiting or running → in_progress (llmq checks every line before it answers the create
 * call, so a batch is never seen `validating`); a cancel asked while items still run → cancelling; llmq's
 * completed and completed_with_errors → completed; cancelled → cancelled. `failed` (a file refused at create is
 * a 400 instead) and `expired` (llmq has no completion window) never occur; neither does `finalizing`, since the
 * output is generated from the result lines when read. request_counts.failed counts failed and cancelled
 * items: both are in the error file. Anthropic: in_progress, canceling, ended.
 */
const DAY_MS = 86_400_000;
const HEX = /^[0-9a-f]{32}$/;

export const GENERATED_FILE_ID = /^file-(out|err)-([0-9a-f]{32})$/;

export function anthropicBatchId(batchId: string): string {
  return `msgbatch_${batchId.slice("batch_".length)}`;
}

/** llmq's batch id of a `msgbatch_<hex>` id, or undefined when it is not one. */
export function batchIdOfAnthropic(id: string): string | undefined {
  const hex = id.startsWith("msgbatch_") ? id.slice("msgbatch_".length) : "";
  return HEX.test(hex) ? `batch_${hex}` : undefined;
}

export function generatedFileId(batchId: string, kind: "out" | "err"): string {
  return `file-${kind}-${batchId.slice("batch_".length)}`;
}

const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.floor(ms / 1000));
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function openaiStatus(view: BatchView): string {
  if (view.status === "cancelled") return "cancelled";
  if (isFinalBatchStatus(view.status)) return "completed";
  return view.cancel_requested_at !== undefined ? "cancelling" : "in_progress";
}

export function openaiBatch(view: BatchView, rec: CompatBatchRecord): Record<string, unknown> {
  const status = openaiStatus(view);
  const final = isFinalBatchStatus(view.status);
  const c = view.counts;
  const errored = c.failed + c.cancelled;
  return {
    id: view.id,
    object: "batch",
    endpoint: rec.endpoint ?? "/v1/chat/completions",
    errors: null,
    input_file_id: rec.input_file_id ?? null,
    completion_window: rec.completion_window ?? "24h",
    status,
    output_file_id: final && c.completed > 0 ? generatedFileId(view.id, "out") : null,
    error_file_id: final && errored > 0 ? generatedFileId(view.id, "err") : null,
    created_at: seconds(view.created_at),
    in_progress_at: seconds(view.created_at),
    expires_at: seconds(view.created_at + DAY_MS),
    finalizing_at: status === "completed" ? seconds(view.finished_at) : null,
    completed_at: status === "completed" ? seconds(view.finished_at) : null,
    failed_at: null,
    expired_at: null,
    cancelling_at: seconds(view.cancel_requested_at),
    cancelled_at: status === "cancelled" ? seconds(view.finished_at) : null,
    request_counts: { total: c.total, completed: c.completed, failed: errored },
    metadata: rec.metadata ?? view.metadata ?? null,
  };
}

export function anthropicBatch(view: BatchView): Record<string, unknown> {
  const final = isFinalBatchStatus(view.status);
  const id = anthropicBatchId(view.id);
  const c = view.counts;
  return {
    id,
    type: "message_batch",
    processing_status: final ? "ended" : view.cancel_requested_at !== undefined ? "canceling" : "in_progress",
    request_counts: { processing: c.queued + c.active, succeeded: c.completed, errored: c.failed, canceled: c.cancelled, expired: 0 },
    ended_at: final ? iso(view.finished_at) : null,
    created_at: iso(view.created_at),
    expires_at: iso(view.created_at + DAY_MS),
    archived_at: null,
    cancel_initiated_at: iso(view.cancel_requested_at),
    // Relative, so the SDKs fetch it from whatever base URL reached llmq (behind a proxy too).
    results_url: final ? `/v1/messages/batches/${id}/results` : null,
  };
}

export function uploadedFileObject(meta: FileMeta, ttlS: number): Record<string, unknown> {
  return {
    id: meta.id,
    object: "file",
    bytes: meta.bytes,
    created_at: seconds(meta.created_at),
    expires_at: seconds(meta.created_at + ttlS * 1000),
    filename: meta.filename,
    purpose: meta.purpose,
    status: "processed",
    status_details: null,
  };
}

export function generatedFileObject(batchId: string, kind: "out" | "err", bytes: number, createdMs: number): Record<string, unknown> {
  return {
    id: generatedFileId(batchId, kind),
    object: "file",
    bytes,
    created_at: seconds(createdMs),
    filename: `${batchId}_${kind === "out" ? "output" : "error"}.jsonl`,
    purpose: "batch_output",
    status: "processed",
    status_details: null,
  };
}

/**
 * One result line as a line of OpenAI's output file (`kind` out: succeeded items) or error file (err: failed
 * items with the error response they got, cancelled items with `batch_cancelled`); undefined when the line
 * belongs to the other file. https://platform.openai.com/docs/guides/batch (output and error files).
 */
export function openaiFileLine(raw: string, kind: "out" | "err", batchCreatedMs: number): string | undefined {
  const line = JSON.parse(raw) as BatchResultLine;
  const id = `batch_req_${line.job_id}`;
  if (line.status === "completed") {
    if (kind !== "out" || line.result === undefined) return undefined;
    const body = chatCompletion(line.result as ChatResult, batchCreatedMs);
    return JSON.stringify({ id, custom_id: line.custom_id, response: { status_code: 200, request_id: line.job_id, body }, error: null });
  }
  if (kind !== "err") return undefined;
  const err = AppError.fromBody(line.error ?? { code: "INTERNAL", message: "the item failed" });
  if (line.status === "cancelled") {
    return JSON.stringify({ id, custom_id: line.custom_id, response: null, error: { code: "batch_cancelled", message: err.message } });
  }
  return JSON.stringify({ id, custom_id: line.custom_id, response: { status_code: err.status, request_id: line.job_id, body: compatErrorBody("openai", err, undefined) }, error: null });
}

/** One result line as a line of Anthropic's results file. */
export function anthropicResultLine(raw: string): string {
  const line = JSON.parse(raw) as BatchResultLine;
  if (line.status === "completed" && line.result !== undefined) {
    return JSON.stringify({ custom_id: line.custom_id, result: { type: "succeeded", message: anthropicMessage(line.result as ChatResult) } });
  }
  if (line.status === "cancelled") return JSON.stringify({ custom_id: line.custom_id, result: { type: "canceled" } });
  const err = AppError.fromBody(line.error ?? { code: "INTERNAL", message: "the item failed" });
  return JSON.stringify({ custom_id: line.custom_id, result: { type: "errored", error: compatErrorBody("anthropic", err, undefined) } });
}
