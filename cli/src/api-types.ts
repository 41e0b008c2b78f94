/**
 * The parts of llmq's HTTP contract the command line reads (services/api/README.md, GET /api/v1/openapi.json).
 * Written here rather than imported: the command line speaks HTTP only and depends on no other package.
 * cli/test/api-types.test.ts has the compiler check that what the API answers fits these.
 */
export interface BatchCounts {
  total: number;
  queued: number;
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface BatchView {
  id: string;
  object: "batch";
  status: "queued" | "in_progress" | "completed" | "completed_with_errors" | "cancelled";
  counts: BatchCounts;
  created_at: number;
  started_at?: number;
  finished_at?: number;
  retries?: number;
  metadata?: Record<string, string>;
}

export interface BatchList {
  object: "list";
  data: BatchView[];
  next_cursor?: string;
}

/** One batch item as submitted. */
export interface BatchItem {
  custom_id: string;
  type: string;
  body: Record<string, unknown>;
}

export interface JobView {
  id: string;
  type: string;
  status: "queued" | "active" | "completed" | "failed" | "cancelled";
  /** The job's result (every type has `output`); printed whole with --json. */
  result?: { output: unknown };
  error?: { code: string; message: string };
}
