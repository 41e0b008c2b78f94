import { randomUUID } from "node:crypto";
import { AppError, type SchemaGuard } from "@llmq/shared";
import type { SchemaStore, StoredSchema } from "./schema-store.js";

/** Registered schemas: checked by the same guard as inline ones, stored per owner, ids random. */
export class SchemaService {
  constructor(
    private readonly store: SchemaStore,
    private readonly guard: SchemaGuard,
  ) {}

  async register(owner: string, name: string | undefined, schema: unknown): Promise<StoredSchema> {
    const checked = this.guard.check(schema);
    const entry: StoredSchema = { id: `sch_${randomUUID().replaceAll("-", "")}`, name: name ?? null, schema: checked.schema, schema_hash: checked.hash, created_at: Date.now() };
    await this.store.save(owner, entry);
    return entry;
  }

  /** Another owner's schema and a missing one are the same 404. */
  async get(owner: string, id: string): Promise<StoredSchema> {
    const entry = SCHEMA_ID.test(id) ? await this.store.load(owner, id) : undefined;
    if (entry === undefined) throw new AppError("NOT_FOUND", `no schema ${id}`);
    return entry;
  }

  /** For a structured request's schema_id: undefined when there is none for this owner. */
  async find(owner: string, id: string): Promise<StoredSchema | undefined> {
    return SCHEMA_ID.test(id) ? this.store.load(owner, id) : undefined;
  }
}

const SCHEMA_ID = /^sch_[0-9a-f]{32}$/;
