import type { Job } from "bullmq";
import type { ErrorBody, FinalJobRecord, JobPayload, JobResult, JobStatus, JobType } from "@llmq/shared";

/** What GET /api/v1/jobs/{id} answers, and the body of every 202. */
export interface JobView {
  id: string;
  type: JobType;
  status: JobStatus;
  result?: JobResult;
  error?: ErrorBody;
  attempts: number;
  created_at: number;
  started_at?: number;
  finished_at?: number;
  /** A batch item's batch and custom_id. */
  batch_id?: string;
  custom_id?: string;
}

export function viewFromRecord(record: FinalJobRecord): JobView {
  const view: JobView = { id: record.id, type: record.type, status: record.status, attempts: record.attempts, created_at: record.created_at };
  if (record.result !== undefined) view.result = record.result;
  if (record.error !== undefined) view.error = record.error;
  if (record.started_at !== undefined) view.started_at = record.started_at;
  view.finished_at = record.finished_at;
  return view;
}

/** A job not finished yet (or finished without a record, which only an expired record explains). */
export function viewFromQueue(job: Job<JobPayload, unknown, JobType>, state: string): JobView {
  const view: JobView = {
    id: job.id ?? "",
    type: job.name,
    status: state === "active" ? "active" : state === "completed" ? "completed" : state === "failed" ? "failed" : "queued",
    attempts: job.attemptsMade,
    created_at: job.data.created_at,
  };
  if (job.processedOn !== undefined && job.processedOn !== null) view.started_at = job.processedOn;
  if (job.finishedOn !== undefined && job.finishedOn !== null) view.finished_at = job.finishedOn;
  if (view.status === "failed") view.error = { code: "INTERNAL", message: job.failedReason || "the job failed" };
  return view;
}

/** The 202 body of a job just enqueued: nothing to look up, it is queued. */
export function queuedView(id: string, type: JobType, createdAt: number): JobView {
  return { id, type, status: "queued", attempts: 0, created_at: createdAt };
}
