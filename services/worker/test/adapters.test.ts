import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, parseConfig, PROVIDERS, SchemaGuard, type Config, type ProviderName } from "@llmq/shared";
import { createSimulator, type Simulator } from "../../simulator/src/index.js";
import { classifyFailure, createProviderAdapter, planStructured, type ProviderAdapter, type ProviderRequest } from "../src/index.js";
import { SIMPLE_USER, unique, USER_ARRAY } from "./helpers.js";

/** The three official SDKs, through llmq's adapters and transport, against the simulator: no Redis. */
let sim: Simulator;
let config: Config;
const adapters = new Map<ProviderName, ProviderAdapter>();
const logger = createLogger({ service: "worker", level: "silent" });
const MODELS: Record<ProviderName, string> = { openai: "gpt-4o", anthropic: "claude-2.1", groq: "llama-3.1-8b-instant" };

beforeAll(async () => {
  sim = createSimulator({ retryAfterMs: 250 });
  const { url } = await sim.listen(0, "127.0.0.1");
  config = parseConfig({ PROVIDER_MODE: "simulate", SIMULATOR_URL: url, PROVIDER_TIMEOUT_MS: "500", OPENAI_API_KEY: "sk-should-never-be-sent-123456" });
  for (const p of PROVIDERS) adapters.set(p, createProviderAdapter(config, p, logger));
});
afterAll(async () => {
  for (const a of adapters.values()) await a.close();
  await sim.close();
});

const req = (provider: ProviderName, prompt: string, extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: MODELS[provider],
  messages: [{ role: "user", content: prompt }],
  maxTokens: 256,
  output: { kind: "text" },
  ...extra,
});
const signal = new AbortController().signal;

async function failureOf(provider: ProviderName, r: ProviderRequest): Promise<ReturnType<typeof classifyFailure>> {
  try {
    await adapters.get(provider)?.call(r, signal);
  } catch (err) {
    return classifyFailure(err, provider);
  }
  throw new Error("the call succeeded");
}

describe.each(PROVIDERS)("the %s adapter against the simulator", (provider) => {
  const adapter = (): ProviderAdapter => adapters.get(provider) as ProviderAdapter;

  it("returns text with a finish reason and consistent usage", async () => {
    const res = await adapter().call(req(provider, "Write two sentences about tea", { system: "Be brief." }), signal);
    expect(res.content.length).toBeGreaterThan(0);
    expect(res.finishReason).toBe("stop");
    expect(res.usage.total_tokens).toBe(res.usage.input_tokens + res.usage.output_tokens);
    expect(res.usage.input_tokens).toBeGreaterThan(0);
  });

  it("reports a cut answer as finish_reason length", async () => {
    const res = await adapter().call(req(provider, "Write a detailed essay about rivers", { maxTokens: 5 }), signal);
    expect(res.finishReason).toBe("length");
  });

  // Anthropic's models use the forced tool; OpenAI and Groq models use all three modes.
  const modes = provider === "anthropic" ? (["tool"] as const) : (["tool", "json_schema", "json_object"] as const);
  it.each(modes)("returns JSON valid against the guide's array schema in %s mode", async (mode) => {
    const plan = planStructured(mode, USER_ARRAY);
    const res = await adapter().call(req(provider, "Generate a list of 5 user objects", { output: plan.output, ...(plan.instructions ? { system: plan.instructions } : {}) }), signal);
    expect(res.finishReason).toBe("stop");
    const parsed = JSON.parse(res.content) as { items: unknown[] };
    expect(new SchemaGuard().validate(USER_ARRAY, parsed.items).valid).toBe(true);
    expect(parsed.items).toHaveLength(5);
  });

  it("classifies a 429 as rate limited, with the provider's retry-after", async () => {
    const f = await failureOf(provider, req(provider, unique("[[sim:429@750ms]] hi")));
    expect(f).toMatchObject({ kind: "rate_limited", waitMs: 750, error: { code: "PROVIDER_RATE_LIMITED" } });
  });

  it.each([
    ["500", "retry", "PROVIDER_ERROR"],
    ["503", "retry", "PROVIDER_ERROR"],
    ["529", "retry", "PROVIDER_ERROR"],
    ["400", "final", "PROVIDER_ERROR"],
    ["401", "final", "PROVIDER_ERROR"],
    ["hang", "retry", "PROVIDER_TIMEOUT"],
  ])("classifies [[sim:%s]] as %s with %s", async (marker, kind, code) => {
    const f = await failureOf(provider, req(provider, unique(`[[sim:${marker}]] hi`)));
    expect(f.kind).toBe(kind);
    expect(f.error.code).toBe(code);
    expect(JSON.stringify(f)).not.toMatch(/sk-should-never|sim-key/);
  });
});

describe("structured request shapes", () => {
  it("sends a strict json_schema for a schema that can be made strict, and the simulator (which checks OpenAI's strict rules) accepts it", async () => {
    const plan = planStructured("json_schema", SIMPLE_USER);
    expect(plan.output).toMatchObject({ kind: "json_schema", strict: true });
    const res = await adapters.get("openai")?.call(req("openai", "Generate a simple user object with name, age, and email", { output: plan.output }), signal);
    const user = JSON.parse(res?.content ?? "null") as Record<string, unknown>;
    expect(Object.keys(user).sort()).toEqual(["age", "email", "name"]);
  });

  it("a connection that is refused is a retry, not a final failure", async () => {
    const dead = createProviderAdapter(parseConfig({ PROVIDER_MODE: "simulate", SIMULATOR_URL: "http://127.0.0.1:9", PROVIDER_TIMEOUT_MS: "500" }), "groq", logger);
    try {
      await dead.call(req("groq", "hi"), signal);
      throw new Error("the call succeeded");
    } catch (err) {
      expect(classifyFailure(err, "groq")).toMatchObject({ kind: "retry", error: { code: "PROVIDER_ERROR" } });
    } finally {
      await dead.close();
    }
  });
});

describe("provider keys", () => {
  it("a simulated provider is sent sim-key, never the configured real key", async () => {
    const seen: string[] = [];
    const server = createServer((rq, rs) => {
      seen.push(String(rq.headers.authorization ?? rq.headers["x-api-key"] ?? ""));
      rq.resume().on("end", () => {
        rs.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({ id: "c", object: "chat.completion", created: 0, model: "gpt-4o", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "hi" } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const adapter = createProviderAdapter(parseConfig({ PROVIDER_MODE: "simulate", SIMULATOR_URL: url, OPENAI_API_KEY: "sk-real-key-never-sent-123456" }), "openai", logger);
    try {
      expect((await adapter.call(req("openai", "hi"), signal)).content).toBe("hi");
      expect(seen).toEqual(["Bearer sim-key"]);
    } finally {
      await adapter.close();
      await new Promise((r) => server.close(r));
    }
  });
});
