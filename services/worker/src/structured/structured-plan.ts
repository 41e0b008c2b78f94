import { Lru, type StructuredMode } from "@llmq/shared";
import { OUTPUT_NAME, type OutputMode } from "../providers/types.js";
import { toObjectRoot, type SchemaValue } from "./object-root.js";
import { schemaInstructions } from "./prompts.js";
import { toStrictSchema } from "./strict-schema.js";

/**
 * How a structured job asks its model for JSON, by the model's `structured` mode (model registry):
 * - json_schema: `response_format: json_schema`, strict when the schema can be normalised (strict-schema.ts);
 * - json_object: JSON mode, the schema in the instructions;
 * - tool: a forced tool call whose input schema is the schema.
 * Non-object roots are wrapped first (object-root.ts). Plans are pure functions of (mode, schema), so they
 * are cached by the schema's content hash: a load of identical schemas normalises each once.
 */
export interface StructuredPlan {
  output: OutputMode;
  /** Extra system instructions (JSON mode only). */
  instructions: string | undefined;
  wrapKey: "items" | "value" | undefined;
  /** The model answered against a strict rewrite: nulls it introduced must be stripped before validating. */
  strict: boolean;
}

export function planStructured(mode: StructuredMode, schema: SchemaValue): StructuredPlan {
  const wrapped = toObjectRoot(schema);
  if (mode === "tool") {
    return { output: { kind: "tool", name: OUTPUT_NAME, schema: wrapped.schema }, instructions: undefined, wrapKey: wrapped.key, strict: false };
  }
  if (mode === "json_schema") {
    const strict = toStrictSchema(wrapped.schema);
    return {
      output: { kind: "json_schema", schema: strict ?? wrapped.schema, strict: strict !== undefined },
      instructions: undefined,
      wrapKey: wrapped.key,
      strict: strict !== undefined,
    };
  }
  return { output: { kind: "json_object" }, instructions: schemaInstructions(wrapped.schema, wrapped.key), wrapKey: wrapped.key, strict: false };
}

export class StructuredPlans {
  private readonly cache: Lru<string, StructuredPlan>;

  constructor(capacity: number) {
    this.cache = new Lru(capacity);
  }

  get(mode: StructuredMode, schema: SchemaValue, schemaHash: string): StructuredPlan {
    const key = `${mode}:${schemaHash}`;
    let plan = this.cache.get(key);
    if (plan === undefined) {
      plan = planStructured(mode, schema);
      this.cache.set(key, plan);
    }
    return plan;
  }
}
