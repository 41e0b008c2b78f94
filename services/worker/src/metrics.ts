import type { ErrorCode, JobType, ProviderName } from "@llmq/shared";

/**
 * What the worker counts, as a hook: the operations work wires it to prom-client; the default does nothing.
 * Every call is synchronous and must not throw.
 */
export type JobOutcome = "completed" | "failed" | "cancelled" | "retried" | "rate_limited" | "capacity_wait" | "requeued";

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
  /** True when this outcome is a batch item's, run by this worker (not skipped). */
  batchItem?: boolean;
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

/** What the capacity gate did for one call (capacity/capacity-gate.ts). */
export interface CapacityEvent {
  provider: ProviderName;
  model: string;
  /** admitted: charged and sent; refused: put back for waitMs; rate_limited: a 429 came; settled: corrected after. */
  event: "admitted" | "refused" | "rate_limited" | "settled";
  /** For refused: the short limit (requests, tokens, input_tokens, output_tokens, or backoff after a 429). */
  limit?: string;
  /** refused: how long the job is put back; admitted: how long the call waits for its reserved turn. */
  waitMs?: number;
  /** For admitted: what was charged, by limit. */
  charged?: Record<string, number>;
  /** What each limited bucket holds after the event, by limit. */
  remaining: Record<string, number>;
}

export interface WorkerMetrics {
  jobOutcome(e: JobOutcomeEvent): void;
  providerCall(e: ProviderCallEvent): void;
  /** Repair turns a structured job needed (0 is worth counting too). */
  repairs(e: { provider: ProviderName; model: string; count: number }): void;
  tokens(e: { provider: ProviderName; model: string; input: number; output: number }): void;
  capacity(e: CapacityEvent): void;
}

export const noopMetrics: WorkerMetrics = {
  jobOutcome: () => undefined,
  providerCall: () => undefined,
  repairs: () => undefined,
  tokens: () => undefined,
  capacity: () => undefined,
};
