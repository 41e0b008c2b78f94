/**
 * The provider calls one provider queue's processor may have in flight: its concurrency. BullMQ's slots bound
 * jobs, and a job of its own or a batch job makes one call at a time, but a sync job of several requests
 * (sync-group.ts) runs its requests side by side in one slot; every attempt takes a permit first, so calls in
 * flight never exceed the concurrency whatever the jobs hold. Invariants: a permit is given back exactly once
 * (the caller's `finally`); waiters are served first come, first served; with permits free, taking one costs no
 * promise.
 */
export class CallPermits {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /** Undefined when a permit was free and is now taken; else a promise that resolves once one is handed over. */
  take(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.free++;
  }

  /** Attempts waiting for a permit. */
  get queued(): number {
    return this.waiting.length;
  }
}
