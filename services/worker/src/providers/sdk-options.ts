import type { ProviderConfig } from "@llmq/shared";
import type { AdapterOptions } from "./registry.js";
import { createTransport, type Transport } from "./transport.js";

/**
 * What every provider SDK client is built with, in one place, because each line is an invariant:
 * `maxRetries: 0` (BullMQ is the only retry owner; the SDKs' own two retries would multiply its attempts),
 * one timeout, llmq's transport as `fetch`, and a simulated provider's placeholder key.
 */
export function sdkClientOptions(provider: ProviderConfig, opts: AdapterOptions): { transport: Transport; options: SdkClientOptions } {
  const transport = createTransport({ connections: provider.concurrency, timeoutMs: opts.timeoutMs });
  return {
    transport,
    options: {
      apiKey: provider.apiKey ?? opts.simulatedKey,
      baseURL: provider.baseUrl,
      maxRetries: 0,
      timeout: opts.timeoutMs,
      fetch: transport.fetch,
      logger: opts.sdkLogger,
      logLevel: "warn",
    },
  };
}

export interface SdkClientOptions {
  apiKey: string;
  baseURL: string;
  maxRetries: 0;
  timeout: number;
  fetch: Transport["fetch"];
  logger: AdapterOptions["sdkLogger"];
  logLevel: "warn";
}
