import type { JobResult, JobType } from "./job-catalog.js";
import type { ErrorBody } from "../errors/app-error.js";

export type JobStatus = "queued" | "active" | "completed" | "failed" | "cancelled";

/**
 * What the worker stores under `keys.result(id)` (with RESULT_TTL_S) when a job reaches a final state,
 * BEFORE it tells BullMQ the job is done and before it publishes on `keys.doneChannel()`. The API reads
 * only this record for finished jobs; BullMQ's copy of the job may already be gone (removeOnComplete).
 */
export interface FinalJobRecord {
  id: string;
  type: JobType;
  owner: string;
  status: "completed" | "failed" | "cancelled";
  result?: JobResult;
  error?: ErrorBody;
  attempts: number;
  created_at: number;
  started_at?: number;
  finished_at: number;
  batch_id?: string;
  custom_id?: string;
}

/** The message published on `keys.doneChannel()`: just the id; readers fetch the record. */
export type DoneMessage = string;
