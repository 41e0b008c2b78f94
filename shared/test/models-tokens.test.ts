import { describe, expect, it } from "vitest";
import { ModelRegistry, DEFAULT_MODELS, mergeModels } from "../src/models/index.js";
import { countTokens, countMessageTokens, tokensWithin } from "../src/tokens/index.js";
import { createKeys } from "../src/contracts/index.js";
import { redactSecrets } from "../src/logger/index.js";

describe("model registry", () => {
  it("holds the guide's ids and current models of each provider", () => {
    const reg = new ModelRegistry(DEFAULT_MODELS);
    for (const id of ["gpt-3.5-turbo", "gpt-4", "claude-2", "llama3-8b-8192"]) expect(reg.get(id)).toBeDefined();
    const providers = new Set(reg.list().filter((m) => !m.legacy).map((m) => m.provider));
    expect([...providers].sort()).toEqual(["anthropic", "groq", "openai"]);
    expect(reg.get("claude-2")?.structured).toBe("tool");
  });

  it("lets a models file override, add and remove entries, and names every bad entry", () => {
    const merged = mergeModels(DEFAULT_MODELS, {
      models: [{ id: "gpt-4", context_window: 32_768 }, { id: "local-llama", provider: "openai", upstream: "llama3:8b" }, { id: "claude-2", remove: true }],
    });
    const reg = new ModelRegistry(merged);
    expect(reg.get("gpt-4")?.context_window).toBe(32_768);
    expect(reg.get("gpt-4")?.provider).toBe("openai");
    expect(reg.get("local-llama")?.upstream).toBe("llama3:8b");
    expect(reg.get("claude-2")).toBeUndefined();
    expect(() => mergeModels(DEFAULT_MODELS, { models: [{ id: "x" }, { id: "y", provider: "openai", context_window: -1 }] })).toThrow(/models\[0\].*\n.*models\[1\]/s);
  });
});

describe("token estimator", () => {
  it("counts with the model's BPE and proves small texts fit without tokenizing", () => {
    expect(countTokens("Hello world", "cl100k_base")).toBe(2);
    const msgs = [{ role: "user" as const, content: "Tell me about the solar system." }];
    expect(countMessageTokens(msgs)).toBeGreaterThan(7);
    expect(tokensWithin(msgs, 10_000, "cl100k_base")).toEqual({ tokens: expect.any(Number), fits: true });
    const long = [{ role: "user" as const, content: "word ".repeat(5000) }];
    const r = tokensWithin(long, 1000, "o200k_base");
    expect(r.fits).toBe(false);
    expect(r.tokens).toBeGreaterThan(4000);
    expect(r.tokens).toBeLessThan(6000);
  });
});

describe("keys and redaction", () => {
  it("puts every key under the prefix, hash tag included", () => {
    const k = createKeys("{llmq}");
    for (const key of [k.result("j"), k.doneChannel(), k.cache("c"), k.batch("b"), k.schema("o", "s")]) expect(key.startsWith("{llmq}:")).toBe(true);
  });

  it("removes provider and client keys from messages", () => {
    const text = "401 Incorrect API key provided: sk-proj-abcdef123456789. Authorization: Bearer gsk_abcdefghijklmnop x-api-key=supersecret";
    const out = redactSecrets(text);
    expect(out).not.toMatch(/abcdef123456789|gsk_abcdefghijklmnop|supersecret/);
  });
});
