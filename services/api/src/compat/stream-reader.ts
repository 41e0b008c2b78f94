import type { RedisConnection } from "@llmq/shared";
import type { Logger } from "@llmq/shared";

/**
 * Reads every streamed job's Redis Stream for this API process over ONE blocking connection: a single
 * `XREAD BLOCK … STREAMS k1 … kn id1 … idn` loop over the streams clients are reading now, so a thousand open
 * streams cost one connection, not a thousand. Invariants:
 * - a reader registered while the loop is blocked is read at once: the loop is woken with CLIENT UNBLOCK
 *   (sent from the producer connection), never by waiting for the block to time out. On a Redis Cluster
 *   (`unblock: false`) the client cannot aim CLIENT ID and UNBLOCK at the node serving the streams' slot, so
 *   the loop blocks for CLUSTER_BLOCK_MS at a time instead: a stream opened meanwhile waits that long at most;
 * - entries reach a reader in stream order, each once, starting after the id it registered with ("0": all);
 * - the connection is opened on the first stream, so an API that never streams holds no extra connection;
 * - a Redis error ends no reader: the loop retries, and each reader resumes after the last id it was given.
 */
export type StreamEntry = [id: string, fields: string[]];

interface Reader {
  lastId: string;
  onEntries(entries: StreamEntry[]): void;
}

const BLOCK_MS = 5_000;
const CLUSTER_BLOCK_MS = 100;
const COUNT = 512;
const RETRY_MS = 200;

export class StreamReader {
  private readonly readers = new Map<string, Reader>();
  private conn: RedisConnection | undefined;
  private connId: string | undefined;
  private running = false;
  private blocked = false;
  private unblockSent = false;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly connect: () => RedisConnection,
    /** The producer connection: sends CLIENT UNBLOCK. */
    private readonly control: RedisConnection,
    private readonly logger: Logger,
    /** False on a Redis Cluster: no CLIENT UNBLOCK, short blocks (see the invariants above). */
    private readonly unblock = true,
  ) {}

  get size(): number {
    return this.readers.size;
  }

  /** Delivers the stream's entries after `fromId` until the returned function is called. One reader per key. */
  read(key: string, fromId: string, onEntries: (entries: StreamEntry[]) => void): () => void {
    const reader: Reader = { lastId: fromId, onEntries };
    this.readers.set(key, reader);
    this.kick();
    return () => {
      if (this.readers.get(key) === reader) this.readers.delete(key);
    };
  }

  /** The entries after `afterId` that are in the stream now (the end of a stream whose job has finished). */
  async rest(key: string, afterId: string): Promise<StreamEntry[]> {
    const start = afterId === "0" ? "-" : `(${afterId}`;
    return (await this.control.xrange(key, start, "+")) as StreamEntry[];
  }

  /** The entries up to and including `id` (what a resuming client already has). */
  async upTo(key: string, id: string): Promise<StreamEntry[]> {
    return (await this.control.xrange(key, "-", id)) as StreamEntry[];
  }

  close(): void {
    this.closed = true;
    this.readers.clear();
    this.wake?.();
    this.conn?.disconnect();
  }

  private kick(): void {
    if (this.closed) return;
    if (!this.running) {
      this.running = true;
      void this.loop();
      return;
    }
    if (this.wake !== undefined) this.wake();
    else if (this.unblock && this.blocked && !this.unblockSent && this.connId !== undefined) {
      this.unblockSent = true;
      this.control.client("UNBLOCK", this.connId).catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    const conn = (this.conn ??= this.connect());
    conn.on("ready", () => (this.connId = undefined));
    while (!this.closed) {
      if (this.readers.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      try {
        if (this.unblock) this.connId ??= String(await conn.client("ID"));
        const keys = [...this.readers.keys()];
        const ids = keys.map((k) => this.readers.get(k)?.lastId ?? "0");
        this.blocked = true;
        this.unblockSent = false;
        const reply = (await conn.xread("COUNT", COUNT, "BLOCK", this.unblock ? BLOCK_MS : CLUSTER_BLOCK_MS, "STREAMS", ...keys, ...ids)) as [string, StreamEntry[]][] | null;
        this.blocked = false;
        for (const [key, entries] of reply ?? []) this.deliver(key, entries);
      } catch (err) {
        this.blocked = false;
        if (this.closed) return;
        this.logger.warn({ err }, "stream read failed; retrying");
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private deliver(key: string, entries: StreamEntry[]): void {
    const reader = this.readers.get(key);
    const last = entries[entries.length - 1];
    if (reader === undefined || last === undefined) return;
    reader.lastId = last[0];
    try {
      reader.onEntries(entries);
    } catch (err) {
      this.logger.error({ err }, "stream reader callback failed");
    }
  }
}
