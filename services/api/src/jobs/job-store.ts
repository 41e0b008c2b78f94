import { RedisScript, type FinalJobRecord, type Keys, type RedisConnection } from "@llmq/shared";

/**
 * The Redis state the job routes read and write besides BullMQ's own: final records, idempotency keys, the
 * response cache and the rate-limit windows. One round trip per method; each is called only when the
 * request uses the feature. What must be atomic is a script, never a MULTI: the API's connection carries
 * BullMQ's scripts, and ioredis copies every one of them into each MULTI or pipeline it builds (about 55 µs
 * for BullMQ's 64, against 2 µs on a bare connection).
 */
export class JobStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async record(jobId: string): Promise<FinalJobRecord | undefined> {
    const raw = await this.redis.get(this.keys.result(jobId));
    return raw === null ? undefined : (JSON.parse(raw) as FinalJobRecord);
  }

  /** A completed record stored by the worker under the request's cache key. */
  async cached(cacheKey: string): Promise<FinalJobRecord | undefined> {
    const raw = await this.redis.get(this.keys.cache(cacheKey));
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as FinalJobRecord;
    return record.status === "completed" && record.result !== undefined ? record : undefined;
  }

  /**
   * Claims an Idempotency-Key for a new job: SET NX, and GET when it was taken, in one script (works on Redis 6
   * too, where `SET … NX GET` is refused). Returns undefined when claimed, else the value stored by the first
   * request.
   */
  async claimIdempotency(owner: string, keyHash: string, value: string, ttlS: number): Promise<string | undefined> {
    const stored = (await CLAIM.run(this.redis, [this.keys.idempotency(owner, keyHash)], [value, ttlS])) as string | null;
    return stored ?? undefined;
  }

  /** Gives an Idempotency-Key back when its job could not be enqueued. */
  async releaseIdempotency(owner: string, keyHash: string, value: string): Promise<void> {
    const key = this.keys.idempotency(owner, keyHash);
    if ((await this.redis.get(key)) === value) await this.redis.del(key);
  }

  /**
   * Fixed one-minute windows per key, shared by every API replica: INCR + EXPIRE in one script.
   * Returns the seconds until the window ends when the limit is exceeded, else 0.
   */
  async rateLimit(owner: string, limitPerMin: number, now = Date.now()): Promise<number> {
    const window = Math.floor(now / 60_000);
    const count = Number(await COUNT.run(this.redis, [this.keys.rate(owner, window)], []));
    return count > limitPerMin ? Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)) : 0;
  }

  /**
   * The same window charged `n` at once (a batch's items), and only when all `n` fit: a refused batch costs
   * nothing. Returns the seconds until the window ends when they do not fit, else 0.
   */
  async chargeItems(owner: string, n: number, limitPerMin: number, now = Date.now()): Promise<number> {
    const window = Math.floor(now / 60_000);
    const fits = await CHARGE.run(this.redis, [this.keys.rate(owner, window)], [n, limitPerMin]);
    return fits === 1 ? 0 : Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
  }

  /**
   * Marks a not-yet-started job cancelled: the record (the worker skips a job whose record says cancelled)
   * and the done message, atomically. NX, like the worker's own final write: the first final state wins,
   * so a job that finished meanwhile keeps its result. Returns false when a record was already there.
   */
  async writeCancelled(record: FinalJobRecord, ttlS: number): Promise<boolean> {
    const written = await CANCEL.run(this.redis, [this.keys.result(record.id)], [JSON.stringify(record), ttlS, this.keys.doneChannel(), record.id]);
    return written === 1;
  }
}

/** Nil when the key was claimed, else the value already stored under it. */
const CLAIM = new RedisScript(`
if redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[2], "NX") then return false end
return redis.call("GET", KEYS[1])`);

/** The window's count after this request. */
const COUNT = new RedisScript(`
local n = redis.call("INCR", KEYS[1])
redis.call("EXPIRE", KEYS[1], 61)
return n`);

const CANCEL = new RedisScript(`
if redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[2], "NX") then
  redis.call("PUBLISH", ARGV[3], ARGV[4])
  return 1
end
return 0`);

const CHARGE = new RedisScript(`
local used = tonumber(redis.call("GET", KEYS[1]) or "0")
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call("INCRBY", KEYS[1], ARGV[1])
redis.call("EXPIRE", KEYS[1], 61)
return 1`);
