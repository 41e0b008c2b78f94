import type { ErrorCode, JobType, ProviderName } from "@llmq/shared";

/**
 * What the worker counts, as a hook: the operations work wires it to prom-client; the default does nothing.
 * Every call is synchronous and must not throw.
 */
export type JobOutcome = "completed" | "failed" | "cancelled" | "retried" | "rate_limited" | "requeued";

export interface JobOutcomeEvent {
  provider: ProviderName;
  type: JobType;
  model: string;
  outcome: JobOutcome;
  /** The error code, for every outcome but completed/cancelled. */
  code?: ErrorCode | undefined;
  /** This attempt, start to end. */
  durationMs: number;
  /** 1-based attempt number. */
  attempt: number;
  /** For a completed job: where its time went (the result's `timings`). */
  timings?: JobTimings | undefined;
}

export interface JobTimings {
  /** Created to first start. */
  queuedMs: number;
  /** Every provider call, repairs included. */
  providerMs: number;
  /** Schema compile, parse and validation. */
  validateMs: number;
}

export interface ProviderCallEvent {
  provider: ProviderName;
  model: string;
  durationMs: number;
  ok: boolean;
}

export interface WorkerMetrics {
  jobOutcome(e: JobOutcomeEvent): void;
  providerCall(e: ProviderCallEvent): void;
  /** Repair turns a structured job needed (0 is worth counting too). */
  repairs(e: { provider: ProviderName; model: string; count: number }): void;
  tokens(e: { provider: ProviderName; model: string; input: number; output: number }): void;
}

export const noopMetrics: WorkerMetrics = {
  jobOutcome: () => undefined,
  providerCall: () => undefined,
  repairs: () => undefined,
  tokens: () => undefined,
};
