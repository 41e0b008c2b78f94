/** The providers llmq calls, each through its official SDK. */
export const PROVIDERS = ["openai", "anthropic", "groq"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === "string" && (PROVIDERS as readonly string[]).includes(value);
}

/**
 * One BullMQ queue per provider, so that one provider's rate limit or outage never stalls another's jobs.
 * Queue names carry no prefix: BullMQ's own `prefix` option (REDIS_PREFIX) namespaces the keys.
 */
export const QUEUE_NAMES = {
  openai: "jobs-openai",
  anthropic: "jobs-anthropic",
  groq: "jobs-groq",
} as const satisfies Record<ProviderName, string>;

export type QueueName = (typeof QUEUE_NAMES)[ProviderName];
