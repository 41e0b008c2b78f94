import type { ErrorBody } from "../errors/app-error.js";
import { JOB_TYPES, type JobPayload, type JobResult, type JobType } from "../contracts/job-catalog.js";

/** A batch's life: queued → in_progress → completed | completed_with_errors | cancelled. */
export const BATCH_STATUSES = ["queued", "in_progress", "completed", "completed_with_errors", "cancelled"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export function isFinalBatchStatus(status: string): boolean {
  return status === "completed" || status === "completed_with_errors" || status === "cancelled";
}

/** Always total = queued + active + completed + failed + cancelled: every transition moves one item between two counts. */
export interface BatchCounts {
  total: number;
  /** Not started yet: still pending in the batch, or handed to BullMQ and waiting there. */
  queued: number;
  /** Started (including items between retries). */
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** GET /api/v1/batches/{id}, and the body of the 202 and of a cancel. */
export interface BatchView {
  id: string;
  object: "batch";
  status: BatchStatus;
  counts: BatchCounts;
  created_at: number;
  started_at?: number;
  finished_at?: number;
  cancel_requested_at?: number;
  /** How many retries re-ran failed items (absent: none). */
  retries?: number;
  metadata?: Record<string, string>;
}

/** GET /api/v1/batches: the key's batches, newest first. `next_cursor` is absent on the last page. */
export interface BatchList {
  object: "list";
  data: BatchView[];
  next_cursor?: string;
}

/** One line of GET /api/v1/batches/{id}/results. `status` comes first, so lines filter without parsing. */
export interface BatchResultLine {
  status: "completed" | "failed" | "cancelled";
  custom_id: string;
  job_id: string;
  result?: JobResult;
  error?: ErrorBody;
}

export type BatchItemState = "a" | "c" | "f" | "x";

/**
 * Batch jobs wait in BullMQ with this priority; interactive jobs have none, and BullMQ always takes its plain
 * wait list before its prioritized set, so an interactive request waits for at most one running job to finish.
 */
export const BATCH_JOB_PRIORITY = 10;

/**
 * The BullMQ job name of a batch job of several items (config `batch.jobItems`); a batch job of one item is
 * named after its job type, like any job. Its id is batchGroupJobId (batch-keys.ts).
 */
export const BATCH_GROUP_JOB = "batch-items";

/** One item of a batch job: its index in the batch and its payload. */
export interface BatchGroupItem {
  index: number;
  payload: JobPayload;
}

/** A batch job of several items: consecutive items of one batch, one provider and one round, run in this order. */
export interface BatchGroupData {
  batch_id: string;
  items: BatchGroupItem[];
}

/** The line of a finished item, built in one place for the worker (completed, failed) and the scripts (cancelled). */
export function batchResultLine(line: BatchResultLine): string {
  // Key order is the wire format: status first.
  const out: BatchResultLine = { status: line.status, custom_id: line.custom_id, job_id: line.job_id };
  if (line.result !== undefined) out.result = line.result;
  if (line.error !== undefined) out.error = line.error;
  return JSON.stringify(out);
}

export const BATCH_CANCELLED_ERROR: ErrorBody = { code: "JOB_CANCELLED", message: "the batch was cancelled before this item started" };

/** An item's job type as the one character stored per item in the batch's `types` string. */
export function jobTypeChar(type: JobType): string {
  return JOB_TYPES.indexOf(type).toString(36);
}

export function jobTypeOfChar(c: string): JobType | undefined {
  const i = parseInt(c, 36);
  return Number.isInteger(i) ? JOB_TYPES[i] : undefined;
}
