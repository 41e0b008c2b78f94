import { Queue } from "bullmq";
import type { RedisConnection } from "@llmq/shared";
import { PROVIDERS, createKeys, QUEUE_NAMES, defaultJobOptions, type Config, type JobPayload, type JobType, type Logger, type ProviderName } from "@llmq/shared";
import { throttledWarn } from "../log-throttle.js";

/** One BullMQ queue per provider, all on the API's one fail-fast producer connection. */
export type JobQueue = Queue<JobPayload, unknown, JobType>;
export type JobQueues = Readonly<Record<ProviderName, JobQueue>>;

export function createJobQueues(redis: RedisConnection, config: Config, logger: Logger): JobQueues {
  const queues = {} as Record<ProviderName, JobQueue>;
  const keys = createKeys(config.redis.prefix);
  for (const provider of PROVIDERS) {
    const queue: JobQueue = new Queue<JobPayload, unknown, JobType>(QUEUE_NAMES[provider], {
      connection: redis,
      prefix: keys.queuePrefix(provider),
      // Merged into every add: the API passes only the job id per request.
      defaultJobOptions: defaultJobOptions(config),
    });
    queue.on("error", throttledWarn(logger, "queue error", { queue: QUEUE_NAMES[provider] }));
    queues[provider] = queue;
  }
  return queues;
}

export async function closeJobQueues(queues: JobQueues): Promise<void> {
  await Promise.allSettled(Object.values(queues).map((q) => q.close()));
}
