// Flattens the parts of a JSON Schema that point elsewhere ($ref) or combine (allOf/anyOf/oneOf)
// into one plain schema the generator can read. Best effort by design: a schema this cannot make
// sense of degrades to `{}` (anything goes) rather than an exception, since a simulator that
// crashes on a weird schema is worse than one that answers loosely.

export type Schema = Record<string, unknown>;

export function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unescapePointer(token: string): string {
  if (!token.includes("~") && !token.includes("%")) return token;
  let out = token;
  try { out = decodeURIComponent(token); } catch { /* not percent-encoded after all */ }
  return out.replace(/~1/g, "/").replace(/~0/g, "~");
}

// Recursive schemas resolve the same few refs thousands of times per instance.
const refCache = new WeakMap<Schema, Map<string, Schema | undefined>>();

/** Local refs only (`#`, `#/$defs/x`, `#/definitions/x`, any `#/...` pointer); remote refs resolve to undefined. */
export function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (ref === "#" || ref === "") return root;
  if (!ref.startsWith("#/")) return undefined;
  let cache = refCache.get(root);
  if (cache === undefined) refCache.set(root, (cache = new Map()));
  if (cache.has(ref)) return cache.get(ref);
  let node: unknown = root;
  for (const token of ref.slice(2).split("/")) {
    if (!isSchema(node) && !Array.isArray(node)) { node = undefined; break; }
    node = (node as Record<string, unknown>)[unescapePointer(token)];
  }
  const resolved = isSchema(node) ? node : node === true ? {} : undefined;
  cache.set(ref, resolved);
  return resolved;
}

function typesOf(schema: Schema): string[] | undefined {
  const t = schema.type;
  if (typeof t === "string") return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === "string");
  return undefined;
}

const TAKE_MAX = new Set(["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"]);
const TAKE_MIN = new Set(["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"]);

/** Both schemas must hold: numeric bounds tighten, properties and required unite, types intersect. */
export function mergeSchemas(a: Schema, b: Schema): Schema {
  const out: Schema = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    if (prev === undefined) { out[key] = value; continue; }
    if (key === "type") {
      const ta = typesOf(a) ?? [];
      const tb = typesOf(b) ?? [];
      const both = ta.filter((t) => tb.includes(t) || (t === "integer" && tb.includes("number")));
      const fromB = tb.filter((t) => t === "integer" && ta.includes("number"));
      const merged = [...new Set([...both, ...fromB])];
      out.type = merged.length > 0 ? merged : value;
    } else if (key === "properties" && isSchema(prev) && isSchema(value)) {
      const props: Schema = { ...prev };
      for (const [name, sub] of Object.entries(value)) {
        props[name] = props[name] === undefined ? sub : { allOf: [props[name], sub] };
      }
      out.properties = props;
    } else if (key === "required" && Array.isArray(prev) && Array.isArray(value)) {
      out.required = [...new Set([...prev, ...value])];
    } else if (key === "enum" && Array.isArray(prev) && Array.isArray(value)) {
      const common = prev.filter((x) => value.some((y) => JSON.stringify(x) === JSON.stringify(y)));
      out.enum = common.length > 0 ? common : prev;
    } else if (TAKE_MAX.has(key) && typeof prev === "number" && typeof value === "number") {
      out[key] = Math.max(prev, value);
    } else if (TAKE_MIN.has(key) && typeof prev === "number" && typeof value === "number") {
      out[key] = Math.min(prev, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function isNullOnly(schema: unknown): boolean {
  if (!isSchema(schema)) return false;
  const t = schema.type;
  return t === "null" || (Array.isArray(t) && t.length === 1 && t[0] === "null");
}

export interface Flattened {
  schema: Schema;
  /** How many $refs were followed to get here; the caller bounds recursion with it. */
  refs: number;
}

function pickBranch(list: readonly unknown[], terminal: boolean): unknown {
  if (terminal) {
    // Deep in a recursive schema: take the branch that ends the recursion.
    return list.find(isNullOnly) ?? list.find((b) => isSchema(b) && b.$ref === undefined) ?? list[0];
  }
  return list.find((b) => !isNullOnly(b)) ?? list[0];
}

/**
 * Follows $ref (with siblings, as 2020-12 allows), folds allOf into one schema and picks one branch
 * of anyOf/oneOf: the first that is not just `null`, so optional fields get real values, or, when
 * `terminal`, the one most likely to stop a recursion (null, else one without a $ref).
 */
export function flatten(input: unknown, root: Schema, refs: number, terminal = false): Flattened {
  if (input === true || input === undefined) return { schema: {}, refs };
  if (!isSchema(input)) return { schema: {}, refs };
  let schema: Schema = input;
  for (let hops = 0; hops < 32; hops++) {
    const ref = schema.$ref;
    if (typeof ref === "string") {
      const target = resolveRef(root, ref);
      const { $ref: _ref, ...siblings } = schema;
      refs++;
      schema = target ? mergeSchemas(target, siblings) : siblings;
      continue;
    }
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      let merged: Schema = rest;
      for (const part of allOf) {
        const flat = flatten(part, root, refs, terminal);
        refs = Math.max(refs, flat.refs);
        merged = mergeSchemas(merged, flat.schema);
      }
      schema = merged;
      continue;
    }
    const choice = Array.isArray(schema.anyOf) ? "anyOf" : Array.isArray(schema.oneOf) ? "oneOf" : undefined;
    if (choice) {
      const { [choice]: branches, ...rest } = schema;
      const flat = flatten(pickBranch(branches as unknown[], terminal), root, refs, terminal);
      refs = flat.refs;
      schema = mergeSchemas(rest, flat.schema);
      continue;
    }
    break;
  }
  return { schema, refs };
}
