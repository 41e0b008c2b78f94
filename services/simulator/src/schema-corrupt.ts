// Deliberately wrong answers for the `invalid-json` and `bad-schema` faults, so llmq's repair and
// validation paths can be exercised without a misbehaving model. Each function guarantees its
// promise (the text does not parse; the value fails the schema) whenever that is possible at all.
import { flatten, isSchema, type Schema } from "./schema-resolve.js";

/** A prefix of the JSON text that does not parse, like a response cut off mid-object. */
export function breakJson(text: string): string {
  const cut = text.slice(0, Math.max(1, Math.floor(text.length * 0.6)));
  try {
    JSON.parse(cut);
    return "{" + cut; // a short scalar prefix can still parse ("1" of "123"): make sure it cannot
  } catch {
    return cut;
  }
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function allows(types: readonly string[], value: unknown): boolean {
  const t = jsonTypeOf(value);
  if (t === "number") {
    return types.includes("number") || (types.includes("integer") && Number.isInteger(value));
  }
  return types.includes(t);
}

const CANDIDATES: readonly unknown[] = ["wrong type", 12345.5, true, { unexpected: true }, [1, 2], null];

/** A value the schema rejects by type, enum or const; undefined if the schema accepts anything. */
function wrongValueFor(input: unknown, root: Schema): unknown {
  const s = flatten(input, root, 0).schema;
  if ("const" in s) return JSON.stringify(s.const) === '"__not_the_const__"' ? 0 : "__not_the_const__";
  if (Array.isArray(s.enum)) return s.enum.includes("__not_in_enum__") ? -1 : "__not_in_enum__";
  const t = s.type;
  const types = typeof t === "string" ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : [];
  if (types.length === 0) return undefined;
  return CANDIDATES.find((c) => !allows(types, c));
}

export interface Violation {
  value: unknown;
  /** False when the schema accepts anything, so no violating value exists. */
  violated: boolean;
}

/** The instance, changed so it fails the schema: a required property dropped, else a wrong type. */
export function violateSchema(schema: unknown, instance: unknown): Violation {
  const root: Schema = isSchema(schema) ? schema : {};
  const s = flatten(schema, root, 0).schema;
  if (isSchema(instance)) {
    const required = Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === "string") : [];
    const drop = required.find((k) => k in instance);
    if (drop !== undefined) {
      const { [drop]: _dropped, ...rest } = instance;
      return { value: rest, violated: true };
    }
    const props = isSchema(s.properties) ? s.properties : {};
    for (const [name, sub] of Object.entries(props)) {
      const wrong = wrongValueFor(sub, root);
      if (wrong !== undefined) return { value: { ...instance, [name]: wrong }, violated: true };
    }
    if (s.additionalProperties === false) {
      return { value: { ...instance, __unexpected_field__: true }, violated: true };
    }
  } else if (Array.isArray(instance)) {
    if (typeof s.minItems === "number" && s.minItems > 0) return { value: [], violated: true };
    const wrong = Array.isArray(s.items) ? undefined : wrongValueFor(s.items, root);
    if (wrong !== undefined) return { value: [wrong, ...instance.slice(1)], violated: true };
  }
  const wrongRoot = wrongValueFor(schema, root);
  return wrongRoot === undefined ? { value: instance, violated: false } : { value: wrongRoot, violated: true };
}
