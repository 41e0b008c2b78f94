import type { RedisConnection } from "@llmq/shared";
import type { Keys } from "@llmq/shared";

/** A registered schema as stored: owner-scoped, no TTL (a schema_id stays valid until deleted). */
export interface StoredSchema {
  id: string;
  name: string | null;
  schema: Record<string, unknown> | boolean;
  schema_hash: string;
  created_at: number;
}

export class SchemaStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
  ) {}

  async save(owner: string, entry: StoredSchema): Promise<void> {
    await this.redis.set(this.keys.schema(owner, entry.id), JSON.stringify(entry));
  }

  async load(owner: string, id: string): Promise<StoredSchema | undefined> {
    const raw = await this.redis.get(this.keys.schema(owner, id));
    return raw === null ? undefined : (JSON.parse(raw) as StoredSchema);
  }
}
