import { describe, expect, it } from "vitest";
import { AppError, BACKOFF_TYPE, type ChatMessage } from "@llmq/shared";
import { backoffDelay, createBackoffStrategy, fitContext, MAX_BACKOFF_MS, RetryableError } from "../src/index.js";

const turn = (role: ChatMessage["role"], words: number, tag = ""): ChatMessage => ({ role, content: `${tag} ${"token ".repeat(words)}`.trim() });
const opts = { contextWindow: 300, maxTokens: 100, tokenizer: "cl100k_base" as const, truncate: true };

describe("fitting a request into the context window", () => {
  it("leaves a request that fits untouched", () => {
    const messages = [turn("system", 5), turn("user", 5)];
    expect(fitContext(messages, opts)).toEqual({ messages, context: { messages_in: 2, messages_sent: 2, truncated: 0 } });
  });

  it("drops the oldest non-system turns, keeps the system message and the last user turn, and never starts on an orphaned reply", () => {
    const messages = [turn("system", 10, "S"), turn("user", 60, "U1"), turn("assistant", 60, "A1"), turn("user", 60, "U2"), turn("assistant", 60, "A2"), turn("user", 20, "U3")];
    const fitted = fitContext(messages, opts);
    expect(fitted.messages[0]?.content.startsWith("S")).toBe(true);
    expect(fitted.messages.at(-1)?.content.startsWith("U3")).toBe(true);
    expect(fitted.messages[1]?.role).toBe("user");
    expect(fitted.context.truncated).toBe(messages.length - fitted.messages.length);
    expect(fitted.context.truncated).toBeGreaterThan(0);
    // Here the turn before the reply A2 does not fit, so A2 goes too rather than open the history.
    const orphan = [turn("system", 10, "S"), turn("user", 100, "U2"), turn("assistant", 60, "A2"), turn("user", 20, "U3")];
    expect(fitContext(orphan, opts).messages.map((m) => m.content.split(" ")[0])).toEqual(["S", "U3"]);
  });

  it("fails with CONTEXT_LENGTH_EXCEEDED when the last user turn alone does not fit, or when truncating is not allowed", () => {
    const tooBig = [turn("user", 500)];
    expect(() => fitContext(tooBig, opts)).toThrow(AppError);
    try {
      fitContext(tooBig, opts);
    } catch (err) {
      expect((err as AppError).code).toBe("CONTEXT_LENGTH_EXCEEDED");
    }
    expect(() => fitContext([turn("user", 150), turn("user", 150)], { ...opts, truncate: false })).toThrow(/window/);
    expect(() => fitContext([turn("user", 1)], { ...opts, maxTokens: 300 })).toThrow(/no room/);
  });
});

describe("backoff", () => {
  it("grows exponentially with equal jitter and a cap", () => {
    expect(backoffDelay(1, 1000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, () => 0)).toBe(2000);
    expect(backoffDelay(3, 1000, () => 1)).toBe(4000);
    expect(backoffDelay(40, 1000, () => 1)).toBe(MAX_BACKOFF_MS);
  });

  it("takes the base from the job's backoff options and honours a provider's retry-after as a floor", () => {
    const strategy = createBackoffStrategy(1000);
    const job = { opts: { backoff: { type: BACKOFF_TYPE, delay: 10 } } };
    expect(strategy(1, BACKOFF_TYPE, new Error("x"), job)).toBeLessThanOrEqual(10);
    expect(strategy(1, BACKOFF_TYPE, new RetryableError("x", 5000), job)).toBe(5000);
    expect(strategy(2, BACKOFF_TYPE, new Error("x"))).toBeGreaterThanOrEqual(1000);
  });
});
