import { fullFormats } from "ajv-formats/dist/formats.js";
import type { SchemaIssue } from "./schema-guard.js";

/**
 * An interpreting validator for client schemas seen for the first time: it walks the schema beside the value
 * instead of generating and compiling code, so a new schema costs about as much as the value it checks
 * (compiling one with ajv costs ~1 ms; the guide sends a new schema with every structured call).
 *
 * Invariant: it agrees with the ajv SchemaGuard would compile (same options: allErrors, ajv-formats' full
 * formats), verdict for verdict, and its issues read like ajv's (same instance paths and messages). It covers
 * the keywords structured output uses; `interpret` returns undefined for a schema using anything else, and the
 * guard compiles that schema with ajv instead. Tested side by side with ajv in schema-interpreter.test.ts.
 */
export type Draft = "07" | "2020";
export type Interpreted = (value: unknown) => SchemaIssue[];

type Node = Record<string, unknown>;
type FormatCheck = (s: string | number) => boolean;
interface Ctx {
  root: unknown;
  draft: Draft;
  patterns: Map<string, RegExp>;
  /** $ref -> its target and the schema path ajv reports under it (see refSchemaPath). */
  refs: Map<string, { target: unknown; sp: string }>;
  errors: Array<SchemaIssue & { schemaPath: string }>;
  depth: number;
}

/** Keywords ajv knows that this interpreter does not implement: their presence sends a schema to ajv. */
const UNSUPPORTED = new Set([
  "if", "then", "else", "contains", "minContains", "maxContains", "dependencies", "dependentSchemas", "dependentRequired",
  "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems", "$dynamicRef", "$dynamicAnchor",
  "$recursiveRef", "$recursiveAnchor", "$anchor", "discriminator", "nullable", "$data", "$async",
]);
/** Keywords whose values are subschemas (or maps/lists of them), walked by `supported`. */
const SUB_ONE = ["items", "additionalProperties", "not"];
const SUB_MAP = ["properties", "patternProperties", "$defs", "definitions"];
const SUB_LIST = ["anyOf", "oneOf", "allOf", "prefixItems"];
const TYPES = new Set(["string", "number", "integer", "boolean", "null", "array", "object"]);
const MAX_EVAL_DEPTH = 256;

class NotInterpretable extends Error {}

const FORMATS = new Map<string, { type: "string" | "number"; check: FormatCheck }>();
for (const [name, def] of Object.entries(fullFormats as Record<string, unknown>)) {
  if (def === true) FORMATS.set(name, { type: "string", check: () => true });
  else if (def instanceof RegExp) FORMATS.set(name, { type: "string", check: (s) => def.test(s as string) });
  else if (typeof def === "function") FORMATS.set(name, { type: "string", check: def as FormatCheck });
  else if (def !== null && typeof def === "object" && "validate" in def) {
    const d = def as { type?: string; validate: RegExp | FormatCheck };
    const check: FormatCheck = d.validate instanceof RegExp ? (s) => (d.validate as RegExp).test(s as string) : d.validate;
    FORMATS.set(name, { type: d.type === "number" ? "number" : "string", check });
  }
}

/** A validator for `schema` (already through SchemaGuard.check and stripped of ids), or undefined. */
export function interpret(schema: unknown, draft: Draft): Interpreted | undefined {
  const patterns = new Map<string, RegExp>();
  const refs = new Map<string, { target: unknown; sp: string }>();
  if (!supported(schema, schema, draft, patterns, refs, 0)) return undefined;
  return (value) => {
    const ctx: Ctx = { root: schema, draft, patterns, refs, errors: [], depth: 0 };
    evaluate(ctx, schema, value, "", "#");
    return ctx.errors.slice(0, 50).map((e) => ({ path: e.path || e.schemaPath, message: e.message }));
  };
}

function supported(node: unknown, root: unknown, draft: Draft, patterns: Ctx["patterns"], refs: Ctx["refs"], depth: number): boolean {
  if (typeof node === "boolean") return true;
  if (node === null || typeof node !== "object" || Array.isArray(node) || depth > 64) return false;
  const s = node as Node;
  for (const k of Object.keys(s)) if (UNSUPPORTED.has(k)) return false;
  if (draft === "07" && s.$ref !== undefined && Object.keys(s).some((k) => k !== "$ref" && k !== "$defs" && k !== "definitions")) return false;
  if (draft === "2020" && Array.isArray(s.items)) return false;
  if (s.type !== undefined && !(Array.isArray(s.type) ? s.type : [s.type]).every((t) => TYPES.has(t as string))) return false;
  if (s.format !== undefined && (typeof s.format !== "string" || !FORMATS.has(s.format))) return false;
  if (Array.isArray(s.enum) && s.enum.length === 0) return false; // ajv refuses it when compiling: so does the guard
  if (s.$ref !== undefined) {
    // "#" below the root is left to ajv, which refuses it without an $id: the same answer as before
    const target = typeof s.$ref === "string" && s.$ref !== "#" ? resolveRef(root, s.$ref) : undefined;
    if (!isSchema(target)) return false;
    refs.set(s.$ref as string, { target, sp: refSchemaPath(s.$ref as string, target) });
  }
  for (const p of [s.pattern, ...Object.keys(isObj(s.patternProperties) ? s.patternProperties : {})]) {
    if (typeof p !== "string") continue;
    try {
      patterns.set(p, new RegExp(p, "u"));
    } catch {
      return false;
    }
  }
  const subs: unknown[] = [];
  for (const k of SUB_ONE) if (s[k] !== undefined) subs.push(...(k === "items" && Array.isArray(s[k]) ? (s[k] as unknown[]) : [s[k]]));
  for (const k of SUB_MAP) if (s[k] !== undefined) subs.push(...(isObj(s[k]) ? Object.values(s[k]) : [null]));
  for (const k of SUB_LIST) if (s[k] !== undefined && !(draft === "07" && k === "prefixItems")) subs.push(...(Array.isArray(s[k]) ? (s[k] as unknown[]) : [null]));
  return subs.every((sub) => supported(sub, root, draft, patterns, refs, depth + 1));
}

function evaluate(ctx: Ctx, schema: unknown, data: unknown, path: string, sp: string): boolean {
  if (schema === true) return true;
  if (schema === false) return fail(ctx, path, `${sp}/false schema`, "boolean schema is false");
  if (++ctx.depth > MAX_EVAL_DEPTH) throw new NotInterpretable("reference loop");
  try {
    const s = schema as Node;
    const before = ctx.errors.length;
    if (s.type !== undefined) checkType(ctx, s.type, data, path, sp);
    generic(ctx, s, data, path, sp);
    if (typeof data === "number") numeric(ctx, s, data, path, sp);
    else if (typeof data === "string") stringy(ctx, s, data, path, sp);
    else if (Array.isArray(data)) arrayish(ctx, s, data, path, sp);
    else if (isObj(data)) objectish(ctx, s, data, path, sp);
    return ctx.errors.length === before;
  } finally {
    ctx.depth--;
  }
}

function checkType(ctx: Ctx, type: unknown, data: unknown, path: string, sp: string): void {
  const types = Array.isArray(type) ? (type as string[]) : [type as string];
  if (!types.some((t) => hasType(data, t))) fail(ctx, path, `${sp}/type`, `must be ${types.join(",")}`);
}

function generic(ctx: Ctx, s: Node, data: unknown, path: string, sp: string): void {
  if (typeof s.$ref === "string") {
    const ref = ctx.refs.get(s.$ref) as { target: unknown; sp: string };
    evaluate(ctx, ref.target, data, path, ref.sp);
  }
  if (Object.hasOwn(s, "const") && !deepEqual(s.const, data)) fail(ctx, path, `${sp}/const`, "must be equal to constant");
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, data))) fail(ctx, path, `${sp}/enum`, "must be equal to one of the allowed values");
  if (s.not !== undefined && branch(ctx, s.not, data, path, `${sp}/not`)) fail(ctx, path, `${sp}/not`, "must NOT be valid");
  if (Array.isArray(s.allOf)) s.allOf.forEach((sub, i) => evaluate(ctx, sub, data, path, `${sp}/allOf/${i}`));
  if (Array.isArray(s.anyOf)) {
    const before = ctx.errors.length;
    if (s.anyOf.some((sub, i) => evaluate(ctx, sub, data, path, `${sp}/anyOf/${i}`))) ctx.errors.length = before;
    else fail(ctx, path, `${sp}/anyOf`, "must match a schema in anyOf");
  }
  if (Array.isArray(s.oneOf)) {
    const before = ctx.errors.length;
    let passing = 0;
    // ajv stops at the second passing branch: the failures after it are not reported
    for (let i = 0; i < s.oneOf.length && passing < 2; i++) if (evaluate(ctx, s.oneOf[i], data, path, `${sp}/oneOf/${i}`)) passing++;
    if (passing === 1) ctx.errors.length = before;
    else fail(ctx, path, `${sp}/oneOf`, "must match exactly one schema in oneOf");
  }
}

function numeric(ctx: Ctx, s: Node, n: number, path: string, sp: string): void {
  const limit = (k: string, op: string, bad: (l: number) => boolean): void => {
    if (typeof s[k] === "number" && bad(s[k] as number)) fail(ctx, path, `${sp}/${k}`, `must be ${op} ${s[k]}`);
  };
  limit("maximum", "<=", (l) => !(n <= l));
  limit("minimum", ">=", (l) => !(n >= l));
  limit("exclusiveMaximum", "<", (l) => !(n < l));
  limit("exclusiveMinimum", ">", (l) => !(n > l));
  if (typeof s.multipleOf === "number") {
    const q = n / s.multipleOf;
    if (q !== parseInt(String(q))) fail(ctx, path, `${sp}/multipleOf`, `must be multiple of ${s.multipleOf}`);
  }
  format(ctx, s, n, "number", path, sp);
}

function stringy(ctx: Ctx, s: Node, str: string, path: string, sp: string): void {
  const len = typeof s.maxLength === "number" || typeof s.minLength === "number" ? codePoints(str) : 0;
  if (typeof s.maxLength === "number" && len > s.maxLength) fail(ctx, path, `${sp}/maxLength`, `must NOT have more than ${s.maxLength} characters`);
  if (typeof s.minLength === "number" && len < s.minLength) fail(ctx, path, `${sp}/minLength`, `must NOT have fewer than ${s.minLength} characters`);
  if (typeof s.pattern === "string" && !(ctx.patterns.get(s.pattern) as RegExp).test(str)) fail(ctx, path, `${sp}/pattern`, `must match pattern "${s.pattern}"`);
  format(ctx, s, str, "string", path, sp);
}

function format(ctx: Ctx, s: Node, value: string | number, type: "string" | "number", path: string, sp: string): void {
  if (typeof s.format !== "string") return;
  const f = FORMATS.get(s.format) as { type: string; check: FormatCheck };
  if (f.type === type && !f.check(value)) fail(ctx, path, `${sp}/format`, `must match format "${s.format}"`);
}

function arrayish(ctx: Ctx, s: Node, arr: unknown[], path: string, sp: string): void {
  if (typeof s.maxItems === "number" && arr.length > s.maxItems) fail(ctx, path, `${sp}/maxItems`, `must NOT have more than ${s.maxItems} items`);
  if (typeof s.minItems === "number" && arr.length < s.minItems) fail(ctx, path, `${sp}/minItems`, `must NOT have fewer than ${s.minItems} items`);
  if (s.uniqueItems === true) uniqueItems(ctx, s, arr, path, sp);
  let from = 0;
  const prefixed = ctx.draft === "2020" && Array.isArray(s.prefixItems);
  if (prefixed) {
    from = (s.prefixItems as unknown[]).length;
    for (let i = 0; i < Math.min(from, arr.length); i++) evaluate(ctx, (s.prefixItems as unknown[])[i], arr[i], `${path}/${i}`, `${sp}/prefixItems/${i}`);
  }
  if (s.items === undefined) return;
  if (Array.isArray(s.items)) {
    // draft-07's tuple form; without additionalItems, extra items are allowed
    for (let i = 0; i < Math.min(s.items.length, arr.length); i++) evaluate(ctx, s.items[i], arr[i], `${path}/${i}`, `${sp}/items/${i}`);
  } else if (s.items === false && prefixed) {
    // ajv reports items past prefixItems as one error on the array; without prefixItems, each item fails
    if (arr.length > from) fail(ctx, path, `${sp}/items`, `must NOT have more than ${from} items`);
  } else {
    for (let i = from; i < arr.length; i++) evaluate(ctx, s.items, arr[i], `${path}/${i}`, `${sp}/items`);
  }
}

/** As ajv reports it: scalar item types take its one-pass loop (later index first), others its pairwise one. */
function uniqueItems(ctx: Ctx, s: Node, arr: unknown[], path: string, sp: string): void {
  const items = isObj(s.items) ? s.items : undefined;
  const types = items?.type === undefined ? [] : Array.isArray(items.type) ? (items.type as string[]) : [items.type as string];
  const dup = (j: number, i: number): void => void fail(ctx, path, `${sp}/uniqueItems`, `must NOT have duplicate items (items ## ${j} and ${i} are identical)`);
  if (types.length > 0 && !types.some((t) => t === "object" || t === "array")) {
    const seen = new Map<string, number>();
    for (let i = arr.length - 1; i >= 0; i--) {
      const item = arr[i];
      if (!types.some((t) => hasType(item, t))) continue;
      const key = `${typeof item}:${String(item)}`;
      const j = seen.get(key);
      if (j !== undefined) return dup(j, i);
      seen.set(key, i);
    }
    return;
  }
  for (let i = arr.length - 1; i > 0; i--) {
    for (let j = i - 1; j >= 0; j--) if (deepEqual(arr[i], arr[j])) return dup(j, i);
  }
}

function objectish(ctx: Ctx, s: Node, obj: Node, path: string, sp: string): void {
  const count = typeof s.maxProperties === "number" || typeof s.minProperties === "number" ? Object.keys(obj).length : 0;
  if (typeof s.maxProperties === "number" && count > s.maxProperties) fail(ctx, path, `${sp}/maxProperties`, `must NOT have more than ${s.maxProperties} properties`);
  if (typeof s.minProperties === "number" && count < s.minProperties) fail(ctx, path, `${sp}/minProperties`, `must NOT have fewer than ${s.minProperties} properties`);
  if (Array.isArray(s.required)) {
    for (const r of s.required as string[]) if (!Object.hasOwn(obj, r)) fail(ctx, path, `${sp}/required`, `must have required property '${r}'`);
  }
  const props = isObj(s.properties) ? s.properties : undefined;
  const patterns = isObj(s.patternProperties) ? Object.entries(s.patternProperties) : [];
  for (const key of Object.keys(obj)) {
    const here = `${path}/${escapePointer(key)}`;
    const known = props !== undefined && Object.hasOwn(props, key);
    if (known) evaluate(ctx, props[key], obj[key], here, `${sp}/properties/${escapePointer(key)}`);
    let matched = false;
    for (const [p, sub] of patterns) {
      if (!(ctx.patterns.get(p) as RegExp).test(key)) continue;
      matched = true;
      evaluate(ctx, sub, obj[key], here, `${sp}/patternProperties/${escapePointer(p)}`);
    }
    if (known || matched || s.additionalProperties === undefined || s.additionalProperties === true) continue;
    if (s.additionalProperties === false) fail(ctx, path, `${sp}/additionalProperties`, "must NOT have additional properties");
    else evaluate(ctx, s.additionalProperties, obj[key], here, `${sp}/additionalProperties`);
  }
}

function branch(ctx: Ctx, schema: unknown, data: unknown, path: string, sp: string): boolean {
  const before = ctx.errors.length;
  const ok = evaluate(ctx, schema, data, path, sp);
  ctx.errors.length = before;
  return ok;
}

function fail(ctx: Ctx, path: string, schemaPath: string, message: string): false {
  ctx.errors.push({ path, schemaPath, message });
  return false;
}

function hasType(data: unknown, t: string): boolean {
  switch (t) {
    case "null":
      return data === null;
    case "array":
      return Array.isArray(data);
    case "object":
      return isObj(data);
    case "integer":
      return typeof data === "number" && Number.isInteger(data);
    default:
      return typeof data === t;
  }
}

/**
 * ajv inlines a referenced schema that holds no reference itself and reports its errors under the $ref; any
 * other is a function of its own whose errors start again at "#".
 */
function refSchemaPath(ref: string, target: unknown): string {
  return hasRef(target) ? "#" : ref;
}

function hasRef(node: unknown): boolean {
  if (node === null || typeof node !== "object") return false;
  if (Array.isArray(node)) return node.some(hasRef);
  return Object.entries(node).some(([k, v]) => k === "$ref" || hasRef(v));
}

function isObj(v: unknown): v is Node {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isSchema(v: unknown): boolean {
  return typeof v === "boolean" || isObj(v);
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node = root;
  for (const raw of ref.slice(2).split("/")) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, part)) return undefined;
    node = (node as Node)[part];
  }
  return node;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => deepEqual(v, (b as unknown[])[i]));
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Node)[k], (b as Node)[k]));
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    n++;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++; // as ajv's ucs2length
  }
  return n;
}

/** A key as a JSON pointer token (RFC 6901): `~` and `/` escaped; most keys hold neither and are returned as they are. */
export function escapePointer(k: string): string {
  return k.includes("~") || k.includes("/") ? k.replace(/~/g, "~0").replace(/\//g, "~1") : k;
}

export { NotInterpretable };
