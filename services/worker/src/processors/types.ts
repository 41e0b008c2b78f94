import type { Config, FinishReason, JobPayloads, JobResults, JobType, ModelInfo, SchemaGuard, Usage } from "@llmq/shared";
import type { CapacityGate } from "../capacity/capacity-gate.js";
import type { WorkerMetrics } from "../metrics.js";
import type { ProviderAdapter } from "../providers/types.js";
import type { StructuredPlans } from "../structured/structured-plan.js";
import type { StreamSink } from "../streaming/stream-sink.js";

/**
 * A processor turns one job's payload into its result fields. It never sees BullMQ, Redis or an HTTP
 * status: it calls its adapter, and throws AppError for failures retrying cannot fix (the runner classifies
 * everything else).
 */
export interface ProcessorContext<T extends JobType> {
  payload: JobPayloads[T];
  model: ModelInfo;
  adapter: ProviderAdapter;
  guard: SchemaGuard;
  plans: StructuredPlans;
  config: Config;
  metrics: WorkerMetrics;
  signal: AbortSignal;
  /** The provider's capacity buckets, and how many calls this attempt has had admitted. */
  capacity: { gate: CapacityGate; admitted: number };
  /** Set for a streamed chat job: where the answer's pieces go as they arrive. */
  stream?: StreamSink | undefined;
}

type CommonResultKey = "id" | "type" | "model" | "provider" | "simulated" | "finish_reason" | "usage" | "attempts" | "repairs" | "cached" | "timings";
/** What only this job type's result has: `output`, and for conversations `message` and `context`. */
export type ResultFields<T extends JobType> = Omit<JobResults[T], CommonResultKey>;

export interface ProcessorOutput<T extends JobType> {
  fields: ResultFields<T>;
  finishReason: FinishReason;
  usage: Usage;
  repairs: number;
  providerMs: number;
  validateMs: number;
}

export type Processor<T extends JobType> = (ctx: ProcessorContext<T>) => Promise<ProcessorOutput<T>>;
