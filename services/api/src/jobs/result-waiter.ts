import { isCluster, parseDoneMessage, type RedisConnection, type FinalJobRecord, type Keys, type Logger } from "@llmq/shared";

/**
 * How a sync request waits for its job: ONE subscription per API process on `keys.doneChannel()`, and a map
 * from job id to the requests waiting for it. Invariants this file keeps:
 * - `wait()` registers synchronously, so a caller that registers BEFORE `queue.add` cannot miss a job that
 *   finishes while the request is being set up (the worker writes the record, then publishes);
 * - done messages that arrive in one socket read are fetched with one MGET (microtask batching), unless the
 *   message carries the record itself (see DoneMessage);
 * - after the subscriber reconnects it re-subscribes, THEN re-reads every pending waiter's result key, so a
 *   result published while it was away is still delivered;
 * - every waiter ends exactly once: with its record, on its timeout, on `cancel`, or on `handOverAll`.
 * A lost message costs latency, never a result: on timeout the caller reads the result key before it
 * hands the job over with a 202.
 */
export type WaitOutcome = { kind: "done"; record: FinalJobRecord } | { kind: "timeout" };

interface Waiter {
  resolve(outcome: WaitOutcome): void;
  timer: NodeJS.Timeout;
}

export interface PendingWait {
  promise: Promise<WaitOutcome>;
  /** Ends the wait now (the client went away); the promise resolves as a timeout. */
  cancel(): void;
}

const TIMEOUT: WaitOutcome = { kind: "timeout" };
const MGET_CHUNK = 500;

export class ResultWaiter {
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly toFetch = new Set<string>();
  private flushScheduled = false;
  private started = false;
  private subscribed = false;
  private closed = false;
  private pending = 0;

  constructor(
    private readonly subscriber: RedisConnection,
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    private readonly logger: Logger,
    private readonly onCountChange: (pending: number) => void = () => undefined,
  ) {}

  /** Number of requests waiting right now (shutdown drains until it reaches 0). */
  get size(): number {
    return this.pending;
  }

  /** True while done messages can arrive: sync waits are only started then. */
  get ready(): boolean {
    return this.subscribed && this.subscriber.status === "ready";
  }

  /** Subscribes and keeps the subscription across reconnects. Resolves once the first SUBSCRIBE is done. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const channel = this.keys.doneChannel();
    this.subscriber.on("message", (ch: string, message: string) => {
      if (ch !== channel) return;
      // The record may come along with the id (no MGET then); messages for other replicas' jobs cost one split.
      const { id, recordJson } = parseDoneMessage(message);
      if (!this.waiting.has(id)) return;
      if (recordJson === undefined) this.enqueueFetch(id);
      else this.deliver(id, recordJson);
    });
    let first = true;
    const subscribe = async (): Promise<void> => {
      try {
        await this.subscriber.subscribe(channel);
      } catch (err) {
        this.logger.warn({ err }, "result subscription failed; waiting for the next reconnect");
        return;
      }
      this.subscribed = true;
      if (!first) {
        this.logger.info({ pending: this.waiting.size }, "result subscription restored; re-reading pending results");
        for (const id of this.waiting.keys()) this.enqueueFetch(id);
      }
      first = false;
    };
    // autoResubscribe is off: ioredis emits "ready" before its own re-SUBSCRIBE is sent, and the re-read must
    // come after the subscription is back.
    this.subscriber.on("ready", () => void subscribe());
    this.subscriber.on("close", () => (this.subscribed = false));
    if (this.subscriber.status === "ready") await subscribe();
  }

  /** Registers a waiter for `jobId` (synchronously) that ends after `timeoutMs` at the latest. */
  wait(jobId: string, timeoutMs: number): PendingWait {
    let waiter!: Waiter;
    const promise = new Promise<WaitOutcome>((resolve) => {
      waiter = { resolve, timer: setTimeout(() => this.finish(jobId, waiter, TIMEOUT), timeoutMs) };
    });
    const list = this.waiting.get(jobId);
    if (list === undefined) this.waiting.set(jobId, [waiter]);
    else list.push(waiter);
    this.pending++;
    this.onCountChange(this.pending);
    return { promise, cancel: () => this.finish(jobId, waiter, TIMEOUT) };
  }

  /** Ends every wait now as a timeout: their requests hand their jobs over with a 202 (shutdown). */
  handOverAll(): void {
    for (const [id, list] of [...this.waiting]) for (const w of [...list]) this.finish(id, w, TIMEOUT);
  }

  close(): void {
    this.closed = true;
    this.handOverAll();
  }

  private finish(jobId: string, waiter: Waiter, outcome: WaitOutcome): void {
    const list = this.waiting.get(jobId);
    const at = list === undefined ? -1 : list.indexOf(waiter);
    if (list === undefined || at < 0) return; // already ended
    if (list.length === 1) this.waiting.delete(jobId);
    else list.splice(at, 1);
    clearTimeout(waiter.timer);
    this.pending--;
    this.onCountChange(this.pending);
    waiter.resolve(outcome);
  }

  private deliver(id: string, raw: string): void {
    let record: FinalJobRecord;
    try {
      record = JSON.parse(raw) as FinalJobRecord;
    } catch {
      this.logger.error({ job_id: id }, "job record is not JSON");
      return;
    }
    const list = this.waiting.get(id);
    if (list !== undefined) for (const w of [...list]) this.finish(id, w, { kind: "done", record });
  }

  private enqueueFetch(id: string): void {
    this.toFetch.add(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const ids = [...this.toFetch];
    this.toFetch.clear();
    for (let i = 0; i < ids.length && !this.closed; i += MGET_CHUNK) {
      const chunk = ids.slice(i, i + MGET_CHUNK);
      let values: (string | null)[];
      try {
        values = await readMany(this.redis, chunk.map((id) => this.keys.result(id)));
      } catch (err) {
        // The waiters stay; their timeout re-reads the result key.
        this.logger.warn({ err, jobs: chunk.length }, "could not read finished results");
        continue;
      }
      chunk.forEach((id, n) => {
        const raw = values[n];
        if (raw !== null && raw !== undefined) this.deliver(id, raw);
      });
    }
  }
}

/**
 * One MGET on a single Redis. On a cluster each job's record is in a slot of its own (MGET would be refused
 * across slots): one GET each, which the auto-pipelining connection sends together, one write per master.
 */
function readMany(redis: RedisConnection, keys: string[]): Promise<(string | null)[]> {
  return isCluster(redis) ? Promise.all(keys.map((k) => redis.get(k))) : redis.mget(keys);
}
