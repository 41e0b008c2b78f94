import type { RedisConnection } from "@llmq/shared";
import { encodeStreamDelta, type Logger, type StreamDelta } from "@llmq/shared";

/**
 * Writes a streamed job's pieces to its Redis Stream as the provider sends them. Invariants:
 * - pieces are written in the order they arrived, each tagged with the attempt that wrote it;
 * - the first piece goes out at once (time to first token), later ones ride together while a write is in
 *   flight, so a fast provider costs one round trip per batch of pieces, not per piece;
 * - a failed write never fails the job: the stream is a preview, the job's final record is the answer, and
 *   the API's relay ends every stream from that record (sending what the stream missed).
 */
export class StreamSink {
  private pending: string[][] = [];
  private writing: Promise<void> | undefined;
  private expirySet = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly key: string,
    private readonly attempt: number,
    private readonly ttlS: number,
    private readonly logger: Logger,
  ) {}

  push(delta: StreamDelta): void {
    this.pending.push(encodeStreamDelta(this.attempt, delta));
    this.writing ??= this.drain();
  }

  /** Resolves once every piece pushed so far is written (or given up on). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const pipe = this.redis.pipeline();
        for (const fields of batch) pipe.xadd(this.key, "*", ...fields);
        if (!this.expirySet) pipe.expire(this.key, this.ttlS);
        this.expirySet = true;
        const replies = (await pipe.exec()) ?? [];
        const failed = replies.find(([err]) => err !== null);
        if (failed) throw failed[0];
      }
    } catch (err) {
      this.pending = [];
      this.logger.warn({ err, stream_key_suffix: this.key.slice(-12) }, "stream pieces not written; the relay sends them from the final record");
    } finally {
      this.writing = undefined;
    }
  }
}
