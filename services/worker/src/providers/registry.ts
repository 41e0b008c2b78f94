import type { Config, Logger, ProviderConfig, ProviderName } from "@llmq/shared";
import { createAnthropicAdapter } from "./anthropic.js";
import { createGroqAdapter } from "./groq.js";
import { createOpenAIAdapter } from "./openai.js";
import { sdkLogger, type SdkLogger } from "./sdk-logger.js";
import type { ProviderAdapter } from "./types.js";

export interface AdapterOptions {
  timeoutMs: number;
  /** The key sent to the simulator, which checks that one is present but not its value. */
  simulatedKey: string;
  sdkLogger: SdkLogger;
}

export const SIMULATED_KEY = "sim-key";

type AdapterFactory = (provider: ProviderConfig, opts: AdapterOptions) => ProviderAdapter;

/** One adapter per provider; adding a provider to PROVIDERS without one here is a compile error. */
export const ADAPTER_FACTORIES = {
  openai: createOpenAIAdapter,
  anthropic: createAnthropicAdapter,
  groq: createGroqAdapter,
} as const satisfies Record<ProviderName, AdapterFactory>;

export type ProviderAdapters = Record<ProviderName, ProviderAdapter>;

export function createProviderAdapter(config: Config, name: ProviderName, logger: Logger): ProviderAdapter {
  const provider = config.providers[name];
  // A simulated provider never sees the real key, even when one is configured (PROVIDER_MODE=simulate).
  const live = provider.simulated ? { ...provider, apiKey: undefined } : provider;
  return ADAPTER_FACTORIES[name](live, {
    timeoutMs: config.worker.providerTimeoutMs,
    simulatedKey: SIMULATED_KEY,
    sdkLogger: sdkLogger(logger.child({ provider: name })),
  });
}
