/**
 * OpenAI/Groq strict structured outputs accept a subset of JSON Schema, with two rules that client schemas
 * rarely follow: every object lists all its properties in `required`, and every object has
 * `additionalProperties: false`. https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
 *
 * `toStrictSchema` rewrites a schema to follow them: a property that was optional becomes required but
 * nullable, so the model can still leave it out by answering null. `stripIntroducedNulls` undoes that on
 * the answer (removes the nulls of properties that were optional and did not allow null), so the answer
 * is validated against the client's ORIGINAL schema. A schema that needs something strict mode cannot
 * express (allOf, oneOf, not, open objects, …) is not rewritten: the caller falls back to non-strict.
 */
type Schema = Record<string, unknown>;

const KEEP = new Set([
  "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "description",
  "$defs", "definitions", "$ref", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
  "multipleOf", "minItems", "maxItems",
]);
/** Annotations and constraints strict mode does not take; dropping them only loosens the hint to the model. */
const DROP = new Set([
  "$schema", "$id", "$comment", "title", "default", "examples", "deprecated", "readOnly", "writeOnly",
  "minLength", "maxLength", "uniqueItems", "minProperties", "maxProperties", "contentEncoding", "contentMediaType",
]);
const STRICT_FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"]);
const MAX_STRICT_DEPTH = 10;

class NotStrict extends Error {}

export function toStrictSchema(schema: Schema): Schema | undefined {
  try {
    return convert(schema, 0, true) as Schema;
  } catch (err) {
    if (err instanceof NotStrict) return undefined;
    throw err;
  }
}

function convert(node: unknown, depth: number, isRoot = false): unknown {
  if (depth > MAX_STRICT_DEPTH * 2 || typeof node !== "object" || node === null || Array.isArray(node)) throw new NotStrict();
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (DROP.has(k)) continue;
    if (!KEEP.has(k)) throw new NotStrict();
    if (k === "format" && !STRICT_FORMATS.has(String(v))) continue;
    out[k] = v;
  }
  if (isObjectType(src)) {
    const props = src.properties;
    if (typeof props !== "object" || props === null || Array.isArray(props)) throw new NotStrict();
    if (src.additionalProperties !== undefined && src.additionalProperties !== false) throw new NotStrict();
    const required = new Set(Array.isArray(src.required) ? (src.required as string[]) : []);
    const converted: Schema = {};
    for (const [name, sub] of Object.entries(props as Schema)) {
      const strictSub = convert(sub, depth + 1);
      converted[name] = required.has(name) ? strictSub : nullable(strictSub as Schema);
    }
    out.properties = converted;
    out.required = Object.keys(converted);
    out.additionalProperties = false;
  } else if (isRoot) {
    throw new NotStrict();
  }
  if (src.items !== undefined) out.items = convert(src.items, depth + 1);
  if (Array.isArray(src.anyOf)) out.anyOf = src.anyOf.map((s) => convert(s, depth + 1));
  for (const defsKey of ["$defs", "definitions"] as const) {
    const defs = src[defsKey];
    if (defs === undefined) continue;
    if (typeof defs !== "object" || defs === null) throw new NotStrict();
    out[defsKey] = Object.fromEntries(Object.entries(defs).map(([n, s]) => [n, convert(s, depth + 1)]));
  }
  if (typeof src.$ref === "string" && !src.$ref.startsWith("#")) throw new NotStrict();
  return out;
}

function isObjectType(s: Schema): boolean {
  if (Array.isArray(s.type)) {
    if (s.type.includes("object") && s.type.some((t) => t !== "object" && t !== "null")) throw new NotStrict();
    return s.type.includes("object");
  }
  return s.type === "object" || (s.type === undefined && s.properties !== undefined);
}

function nullable(s: Schema): Schema {
  if (allowsNull(s)) return s;
  if (s.$ref !== undefined || s.anyOf !== undefined || s.type === undefined) return { anyOf: [s, { type: "null" }] };
  const type = Array.isArray(s.type) ? [...(s.type as unknown[]), "null"] : [s.type, "null"];
  const out: Schema = { ...s, type };
  if (Array.isArray(s.enum)) out.enum = [...s.enum, null];
  if (Object.hasOwn(s, "const")) return { anyOf: [s, { type: "null" }] };
  return out;
}

function allowsNull(s: unknown): boolean {
  if (typeof s !== "object" || s === null) return s === true;
  const o = s as Schema;
  if (o.type === "null" || (Array.isArray(o.type) && o.type.includes("null"))) return true;
  if (Array.isArray(o.enum) && o.enum.includes(null)) return true;
  if (Object.hasOwn(o, "const") && o.const === null) return true;
  for (const k of ["anyOf", "oneOf"]) if (Array.isArray(o[k]) && (o[k] as unknown[]).some(allowsNull)) return true;
  return false;
}

/**
 * Removes, in place, the nulls strict mode made the model write for properties that were optional in the
 * original schema and do not accept null there. Walks the original schema beside the value.
 */
export function stripIntroducedNulls(value: unknown, schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (depth > 64 || value === null || typeof value !== "object") return value;
  const s = resolve(schema, root);
  if (s === undefined) return value;
  if (Array.isArray(value)) {
    if (typeof s.items === "object" && s.items !== null && !Array.isArray(s.items)) {
      for (let i = 0; i < value.length; i++) value[i] = stripIntroducedNulls(value[i], s.items, root, depth + 1);
    }
    return value;
  }
  const obj = value as Schema;
  const props = s.properties;
  if (typeof props === "object" && props !== null) {
    const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
    for (const key of Object.keys(obj)) {
      const sub = (props as Schema)[key];
      if (sub === undefined) continue;
      if (obj[key] === null && !required.has(key) && !allowsNull(resolve(sub, root) ?? sub)) delete obj[key];
      else obj[key] = stripIntroducedNulls(obj[key], sub, root, depth + 1);
    }
  }
  if (Array.isArray(s.anyOf)) {
    const objectBranches = s.anyOf.filter((b) => typeof resolve(b, root)?.properties === "object");
    if (objectBranches.length === 1) stripIntroducedNulls(value, objectBranches[0], root, depth + 1);
  }
  return value;
}

function resolve(schema: unknown, root: unknown): Schema | undefined {
  let s = schema;
  for (let hops = 0; hops < 8; hops++) {
    if (typeof s !== "object" || s === null || Array.isArray(s)) return undefined;
    const ref = (s as Schema).$ref;
    if (typeof ref !== "string") return s as Schema;
    if (ref === "#") s = root;
    else if (ref.startsWith("#/")) s = pointer(root, ref.slice(2));
    else return undefined;
  }
  return undefined;
}

function pointer(root: unknown, path: string): unknown {
  let node = root;
  for (const raw of path.split("/")) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Schema)[part];
  }
  return node;
}
