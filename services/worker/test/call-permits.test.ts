import { describe, expect, it } from "vitest";
import { CallPermits } from "../src/call-permits.js";

describe("CallPermits", () => {
  it("hands out `size` permits at once, then serves waiters first come, first served as permits come back", async () => {
    const permits = new CallPermits(2);
    expect(permits.take()).toBeUndefined();
    expect(permits.take()).toBeUndefined();
    const order: string[] = [];
    const a = permits.take()?.then(() => order.push("a"));
    const b = permits.take()?.then(() => order.push("b"));
    expect(permits.queued).toBe(2);
    permits.release();
    await a;
    expect(order).toEqual(["a"]);
    permits.release();
    await b;
    expect(order).toEqual(["a", "b"]);
    // Both waiters hold a permit now: the next take waits, and a release with nobody waiting frees one.
    const c = permits.take();
    expect(c).toBeInstanceOf(Promise);
    permits.release();
    await c;
    // b and c give theirs back with nobody waiting: two free again, and a third take waits.
    permits.release();
    permits.release();
    expect(permits.take()).toBeUndefined();
    expect(permits.take()).toBeUndefined();
    expect(permits.take()).toBeInstanceOf(Promise);
  });
});
