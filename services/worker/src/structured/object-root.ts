/**
 * Tool inputs, strict json_schema and JSON mode all need an object at the root. A client schema with any
 * other root (the guide's `type: array`, a string, a boolean schema) is wrapped in a one-property object and
 * the answer is unwrapped before validation against the client's own schema.
 */
export type SchemaValue = Record<string, unknown> | boolean;

export interface Wrapped {
  schema: Record<string, unknown>;
  /** The property the real answer sits in, when wrapped. */
  key: "items" | "value" | undefined;
}

export function hasObjectRoot(schema: SchemaValue): boolean {
  if (typeof schema !== "object") return false;
  if (schema.type === "object") return true;
  return schema.type === undefined && typeof schema.properties === "object" && schema.anyOf === undefined && schema.oneOf === undefined;
}

export function toObjectRoot(schema: SchemaValue): Wrapped {
  if (typeof schema === "object" && hasObjectRoot(schema)) return { schema, key: undefined };
  const key = typeof schema === "object" && schema.type === "array" ? "items" : "value";
  const inner: SchemaValue = typeof schema === "object" ? withoutRootKeywords(schema) : schema;
  const defs = typeof schema === "object" ? rootDefs(schema) : {};
  return { schema: { type: "object", properties: { [key]: inner }, required: [key], additionalProperties: false, ...defs }, key };
}

/**
 * The answer inside the wrapper. Tolerant in JSON mode, where the model only read the wrapper in the
 * instructions: a bare answer, or a lone array under another name ({"users": [...]}), is taken as is and
 * left to the validator to judge.
 */
export function fromObjectRoot(value: unknown, key: Wrapped["key"]): unknown {
  if (key === undefined) return value;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (Object.hasOwn(obj, key)) return obj[key];
    const values = Object.values(obj);
    if (key === "items" && values.length === 1 && Array.isArray(values[0])) return values[0];
  }
  return value;
}

// `$defs` must stay at the root for local `#/$defs/...` refs to resolve; `$schema`/`$id` only mean
// something at the root.
function rootDefs(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (schema.$defs !== undefined) out.$defs = schema.$defs;
  if (schema.definitions !== undefined) out.definitions = schema.definitions;
  return out;
}

function withoutRootKeywords(schema: Record<string, unknown>): Record<string, unknown> {
  const { $defs: _d, definitions: _f, $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}
