import { describe, expect, it } from "vitest";
import { configuredLimits, hasConfiguredLimits } from "../src/capacity/index.js";
import { ConfigError, parseConfig } from "../src/config/index.js";
import { DEFAULT_MODELS, mergeModels, type ModelInfo } from "../src/models/index.js";

function configIssues(env: Record<string, string>): ConfigError["issues"] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

function mergeError(entries: unknown[]): string {
  try {
    mergeModels(DEFAULT_MODELS, { models: entries });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected mergeModels to refuse the file");
}

const gpt4 = DEFAULT_MODELS.find((m) => m.id === "gpt-4") as ModelInfo;
const claude = DEFAULT_MODELS.find((m) => m.id === "claude-haiku-4-5") as ModelInfo;

describe("provider rate limits in the environment", () => {
  it("reads each provider's limits into its config: requests and tokens for OpenAI and Groq, input and output tokens for Anthropic", () => {
    const c = parseConfig({
      OPENAI_RPM: "500",
      OPENAI_TPM: "30000",
      ANTHROPIC_RPM: "50",
      ANTHROPIC_ITPM: "40000",
      ANTHROPIC_OTPM: "8000",
      GROQ_RPM: "30",
      GROQ_TPM: "6000",
    });
    expect(c.providers.openai.limits).toEqual({ rpm: 500, tpm: 30_000 });
    expect(c.providers.groq.limits).toEqual({ rpm: 30, tpm: 6000 });
    expect(c.providers.anthropic.limits).toEqual({ rpm: 50, itpm: 40_000, otpm: 8000 });
    expect(c.providers.anthropic.limits).not.toHaveProperty("tpm");
    expect(c.providers.openai.limits).not.toHaveProperty("itpm");
  });

  it("configures no limit when nothing is set, and reads no variable a provider does not count by", () => {
    const none = parseConfig({});
    for (const p of ["openai", "anthropic", "groq"] as const) expect(hasConfiguredLimits(none.providers[p].limits)).toBe(false);
    const misplaced = parseConfig({ ANTHROPIC_TPM: "1000", OPENAI_ITPM: "1000", GROQ_OTPM: "1000" });
    expect(misplaced.providers.anthropic.limits.tpm).toBeUndefined();
    expect(misplaced.providers.openai.limits.itpm).toBeUndefined();
    expect(misplaced.providers.groq.limits.otpm).toBeUndefined();
  });

  it("reports every bad limit as a config problem naming its variable", () => {
    const issues = configIssues({ OPENAI_RPM: "0", OPENAI_TPM: "1.5", ANTHROPIC_OTPM: "lots", ANTHROPIC_ITPM: "-3", GROQ_TPM: "ten" });
    expect(issues.map((i) => i.variable).sort()).toEqual(["ANTHROPIC_ITPM", "ANTHROPIC_OTPM", "GROQ_TPM", "OPENAI_RPM", "OPENAI_TPM"]);
    const rpm = issues.find((i) => i.variable === "OPENAI_RPM");
    expect(rpm?.problem).toContain('"0"');
    expect(rpm?.fix).toContain("OPENAI_RPM");
    // Unset means no configured limit (learned from the provider's headers), not a default of 1 a minute.
    expect(rpm?.fix).toContain("unset it for none");
    expect(rpm?.fix).not.toMatch(/default/);
  });

  it("defaults the rate-limit wait to 600 s, the burst to 1 s and the hold to 500 ms", () => {
    const w = parseConfig({}).worker;
    expect([w.rateLimitMaxWaitS, w.capacityBurstS, w.capacityHoldMs]).toEqual([600, 1, 500]);
  });

  it("takes a fractional burst and a zero hold, and refuses values outside their ranges", () => {
    const w = parseConfig({ CAPACITY_BURST_S: "0.5", CAPACITY_HOLD_MS: "0", RATE_LIMIT_MAX_WAIT_S: "0" }).worker;
    expect([w.rateLimitMaxWaitS, w.capacityBurstS, w.capacityHoldMs]).toEqual([0, 0.5, 0]);
    const issues = configIssues({ CAPACITY_BURST_S: "0", CAPACITY_HOLD_MS: "60001", RATE_LIMIT_MAX_WAIT_S: "-1" });
    expect(issues.map((i) => i.variable).sort()).toEqual(["CAPACITY_BURST_S", "CAPACITY_HOLD_MS", "RATE_LIMIT_MAX_WAIT_S"]);
  });
});

describe("model rate limits in the models file", () => {
  it("has no limits on the built-in models", () => {
    expect(DEFAULT_MODELS.every((m) => m.limits === undefined)).toBe(true);
  });

  it("accepts rpm, tpm, itpm and otpm on an entry", () => {
    const merged = mergeModels(DEFAULT_MODELS, {
      models: [
        { id: "gpt-4", rpm: 500, tpm: 40_000 },
        { id: "claude-haiku-4-5", rpm: 50, itpm: 50_000, otpm: 10_000 },
        { id: "my-model", provider: "groq", tpm: 6000 },
      ],
    });
    const byId = new Map(merged.map((m) => [m.id, m]));
    expect(byId.get("gpt-4")?.limits).toEqual({ rpm: 500, tpm: 40_000 });
    expect(byId.get("claude-haiku-4-5")?.limits).toEqual({ rpm: 50, itpm: 50_000, otpm: 10_000 });
    expect(byId.get("my-model")?.limits).toEqual({ tpm: 6000 });
    expect(byId.get("gpt-4o")?.limits).toBeUndefined();
  });

  it("keeps a model's limits when a later file overrides its other fields, and overrides one limit without dropping the others", () => {
    const first = mergeModels(DEFAULT_MODELS, { models: [{ id: "gpt-4", rpm: 500, tpm: 40_000 }] });
    const second = mergeModels(first, { models: [{ id: "gpt-4", context_window: 32_768 }] });
    const entry = second.find((m) => m.id === "gpt-4");
    expect(entry?.context_window).toBe(32_768);
    expect(entry?.limits).toEqual({ rpm: 500, tpm: 40_000 });
    const third = mergeModels(second, { models: [{ id: "gpt-4", tpm: 1000 }] });
    expect(third.find((m) => m.id === "gpt-4")?.limits).toEqual({ rpm: 500, tpm: 1000 });
  });

  it("refuses a limit that is not a positive integer, naming the model and the field", () => {
    const message = mergeError([
      { id: "gpt-4", rpm: 0 },
      { id: "gpt-4o", tpm: 1.5 },
      { id: "claude-haiku-4-5", itpm: "100" },
      { id: "claude-opus-4-1", otpm: -1 },
    ]);
    expect(message).toMatch(/models\[0\] \(gpt-4\): rpm must be a positive integer/);
    expect(message).toMatch(/models\[1\] \(gpt-4o\): tpm must be a positive integer/);
    expect(message).toMatch(/models\[2\] \(claude-haiku-4-5\): itpm must be a positive integer/);
    expect(message).toMatch(/models\[3\] \(claude-opus-4-1\): otpm must be a positive integer/);
  });
});

describe("the limits that apply to a model", () => {
  const config = parseConfig({ OPENAI_RPM: "500", OPENAI_TPM: "30000", ANTHROPIC_ITPM: "40000" });

  it("puts a model's own limits over its provider's, field by field", () => {
    expect(configuredLimits(config, { ...gpt4, limits: { tpm: 1000 } })).toEqual({ rpm: 500, tpm: 1000 });
    expect(configuredLimits(config, { ...gpt4, limits: { rpm: 10, tpm: 1000 } })).toEqual({ rpm: 10, tpm: 1000 });
  });

  it("uses the provider's limits for a model without its own", () => {
    expect(configuredLimits(config, gpt4)).toEqual({ rpm: 500, tpm: 30_000 });
    expect(configuredLimits(config, claude)).toEqual({ itpm: 40_000 });
    expect(hasConfiguredLimits(configuredLimits(config, claude))).toBe(true);
  });

  it("says a model is limited when only the model has limits", () => {
    const bare = parseConfig({});
    expect(hasConfiguredLimits(configuredLimits(bare, gpt4))).toBe(false);
    expect(hasConfiguredLimits(configuredLimits(bare, { ...gpt4, limits: { rpm: 60 } }))).toBe(true);
  });
});
