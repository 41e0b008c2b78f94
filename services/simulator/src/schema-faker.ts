// Generates a plausible instance valid against a JSON Schema (the draft-07 / 2020-12 subset that
// structured-output APIs use). Invariants: pure (all randomness from the Rng passed in), never
// throws, and bounded work: recursion through $ref and a node budget switch to "minimal" mode
// (required properties only, minItems items) so recursive or huge schemas still finish quickly.
import type { Rng } from "./rng.js";
import { compilePattern, stringForPattern } from "./pattern-gen.js";
import {
  classifyKey, formatString, newPerson, numericKind, plausibleNumber, plausibleString, singularKey,
  type Person,
} from "./plausible.js";
import { flatten, isSchema, type Schema } from "./schema-resolve.js";
import { FILLER } from "./words.js";

export interface FakeOptions {
  rng: Rng;
  /** Exact item count wanted by the prompt ("a list of 5"), applied to the root array or the root's only array property. */
  count?: number | undefined;
  /** Topical words from the prompt, used for strings whose name says nothing. */
  words?: readonly string[] | undefined;
}

const MAX_REFS = 3;
/** Past this depth only required properties and minItems are generated. */
const MAX_DEPTH = 24;
/** Past this depth a schema that still recurses gets null: there is no finite instance to find. */
const HARD_DEPTH = 64;
const NODE_BUDGET = 20_000;
const DEFAULT_MIN_ITEMS = 2;
const DEFAULT_MAX_ITEMS = 4;

interface Ctx {
  root: Schema;
  rng: Rng;
  words: readonly string[];
  nodes: number;
  person: Person | undefined;
}

export function fakeInstance(schema: unknown, opts: FakeOptions): unknown {
  const root: Schema = isSchema(schema) ? schema : {};
  const ctx: Ctx = { root, rng: opts.rng, words: opts.words ?? [], nodes: 0, person: undefined };
  if (schema === false) return null;
  try {
    return gen(ctx, schema, "", 0, 0, opts.count, true);
  } catch {
    // A schema shape the generator did not anticipate: answer with something rather than fail.
    return {};
  }
}

function personOf(ctx: Ctx): () => Person {
  return () => (ctx.person ??= newPerson(ctx.rng));
}

function gen(ctx: Ctx, input: unknown, key: string, depth: number, refs: number, count: number | undefined, isRoot: boolean): unknown {
  ctx.nodes++;
  if (input === false || depth > HARD_DEPTH) return null;
  const terminal = refs > MAX_REFS || depth > MAX_DEPTH || ctx.nodes > NODE_BUDGET;
  const flat = flatten(input, ctx.root, refs, terminal);
  const s = flat.schema;
  const minimal = terminal || flat.refs > MAX_REFS;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    const nonNull = s.enum.filter((v) => v !== null);
    return ctx.rng.pick(nonNull.length > 0 ? nonNull : s.enum);
  }
  switch (chooseType(s, key, minimal)) {
    case "object": return genObject(ctx, s, depth, flat.refs, minimal, count, isRoot);
    case "array": return genArray(ctx, s, key, depth, flat.refs, minimal, count);
    case "integer": return genNumber(ctx, s, key, true);
    case "number": return genNumber(ctx, s, key, false);
    case "boolean": return ctx.rng.chance(0.5);
    case "null": return null;
    default: return genString(ctx, s, key);
  }
}

function chooseType(s: Schema, key: string, minimal: boolean): string {
  const t = s.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t) && t.length > 0) {
    // Strict-mode optional fields are `["string", "null"]`: give them a real value, unless the
    // generator is winding down a recursion, where null is the way out.
    if (minimal && t.includes("null")) return "null";
    const real = t.find((x) => x !== "null");
    return typeof real === "string" ? real : "null";
  }
  if (isSchema(s.properties) || Array.isArray(s.required) || s.additionalProperties !== undefined) return "object";
  if (s.items !== undefined || s.prefixItems !== undefined) return "array";
  if (s.minLength !== undefined || s.maxLength !== undefined || s.pattern !== undefined || s.format !== undefined) return "string";
  if (s.minimum !== undefined || s.maximum !== undefined || s.multipleOf !== undefined) return "number";
  return numericKind(classifyKey(key)) ?? "string";
}

function arrayPropertyOf(s: Schema, ctx: Ctx): string | undefined {
  if (!isSchema(s.properties)) return undefined;
  let found: string | undefined;
  for (const [name, sub] of Object.entries(s.properties)) {
    const t = flatten(sub, ctx.root, 0).schema;
    const isArray = t.type === "array" || (Array.isArray(t.type) && t.type.includes("array")) || (t.type === undefined && t.items !== undefined);
    if (isArray) {
      if (found !== undefined) return undefined;
      found = name;
    }
  }
  return found;
}

function genObject(ctx: Ctx, s: Schema, depth: number, refs: number, minimal: boolean, count: number | undefined, isRoot: boolean): unknown {
  const props = isSchema(s.properties) ? s.properties : {};
  const required = Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === "string") : [];
  const keys = minimal ? required : Object.keys(props);
  if (!minimal) for (const k of required) if (!Object.hasOwn(props, k)) keys.push(k);
  const countedKey = isRoot && count !== undefined ? arrayPropertyOf(s, ctx) : undefined;
  const extra = s.additionalProperties;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const sub = Object.hasOwn(props, k) ? props[k] : isSchema(extra) ? extra : {};
    const value = gen(ctx, sub, k, depth + 1, refs, k === countedKey ? count : undefined, false);
    // A property literally named __proto__ must stay data, not become the object's prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  const minProps = typeof s.minProperties === "number" ? s.minProperties : 0;
  for (let i = 1; minProps > 0 && extra !== false && Object.keys(out).length < minProps && i < 100; i++) {
    out[`extra_${i}`] = gen(ctx, isSchema(extra) ? extra : {}, "", depth + 1, refs, undefined, false);
  }
  return out;
}

function genArray(ctx: Ctx, s: Schema, key: string, depth: number, refs: number, minimal: boolean, count: number | undefined): unknown[] {
  const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
  const rest = Array.isArray(s.items) ? s.additionalItems : s.items;
  const min = typeof s.minItems === "number" ? s.minItems : 0;
  let max = typeof s.maxItems === "number" ? s.maxItems : Infinity;
  if (rest === false) max = Math.min(max, prefix.length);
  const wanted = minimal ? min : (count ?? ctx.rng.int(DEFAULT_MIN_ITEMS, DEFAULT_MAX_ITEMS));
  const n = Math.max(min, Math.min(max, wanted, 1000));
  const itemKey = singularKey(key);
  const unique = s.uniqueItems === true;
  const seen = new Set<string>();
  const out: unknown[] = [];
  const outer = ctx.person;
  for (let i = 0; i < n; i++) {
    const sub = i < prefix.length ? prefix[i] : i === 0 && s.contains !== undefined ? s.contains : rest;
    let value: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      ctx.person = undefined; // each item is its own entity: a new name, a matching email
      value = gen(ctx, sub, itemKey, depth + 1, refs, undefined, false);
      if (!unique) break;
      const sig = JSON.stringify(value);
      if (!seen.has(sig)) { seen.add(sig); break; }
      value = undefined;
    }
    if (value === undefined && unique) break;
    out.push(value);
  }
  ctx.person = outer;
  return out;
}

function roundTo(value: number, step: number): number {
  const decimals = Math.min(12, (String(step).split(".")[1] ?? "").length);
  return Number(value.toFixed(decimals));
}

function genNumber(ctx: Ctx, s: Schema, key: string, integer: boolean): number {
  let lo = typeof s.minimum === "number" ? s.minimum : -Infinity;
  let hi = typeof s.maximum === "number" ? s.maximum : Infinity;
  const step = integer ? 1 : 0.01;
  // draft-07 numeric exclusive bounds, and draft-04's boolean flavour.
  if (typeof s.exclusiveMinimum === "number") lo = Math.max(lo, s.exclusiveMinimum + step);
  else if (s.exclusiveMinimum === true) lo += step;
  if (typeof s.exclusiveMaximum === "number") hi = Math.min(hi, s.exclusiveMaximum - step);
  else if (s.exclusiveMaximum === true) hi -= step;
  if (integer) { lo = Math.ceil(lo); hi = Math.floor(hi); }
  let v = plausibleNumber(classifyKey(key), ctx.rng) ?? (integer ? ctx.rng.int(1, 100) : ctx.rng.int(0, 10000) / 100);
  if (v < lo || v > hi) {
    if (Number.isFinite(lo) && Number.isFinite(hi)) v = lo + ctx.rng.next() * (hi - lo);
    else v = v < lo ? lo + (Number.isFinite(hi) ? 0 : ctx.rng.int(0, 10)) : hi - (Number.isFinite(lo) ? 0 : ctx.rng.int(0, 10));
  }
  if (integer) v = Math.min(hi, Math.max(lo, Math.round(v)));
  const m = s.multipleOf;
  if (typeof m === "number" && m > 0) {
    let k = Math.round(v / m);
    if (k * m < lo) k = Math.ceil(lo / m);
    if (k * m > hi) k = Math.floor(hi / m);
    v = roundTo(k * m, m);
  } else if (!integer) {
    v = roundTo(v, 0.01);
    if (v < lo || v > hi) v = Math.min(hi, Math.max(lo, v));
  }
  return Number.isFinite(v) ? v : 0;
}

function phrase(ctx: Ctx): string {
  const n = ctx.rng.int(2, 4);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const word = ctx.words.length > 0 && ctx.rng.chance(0.5) ? ctx.rng.pick(ctx.words) : ctx.rng.pick(FILLER);
    if (word !== words[i - 1]) words.push(word);
  }
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function fitLength(text: string, s: Schema, ctx: Ctx): string {
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const max = typeof s.maxLength === "number" ? s.maxLength : Infinity;
  let out = text;
  while (out.length < min) out += " " + ctx.rng.pick(FILLER);
  if (out.length > max) out = out.slice(0, max).trimEnd();
  while (out.length < min) out += "x";
  return out;
}

function genString(ctx: Ctx, s: Schema, key: string): string {
  const person = personOf(ctx);
  const kind = classifyKey(key);
  let candidate: string | undefined;
  if (typeof s.format === "string") candidate = formatString(s.format, ctx.rng, person);
  candidate ??= plausibleString(kind, ctx.rng, person) ?? phrase(ctx);
  if (typeof s.pattern === "string") {
    const re = compilePattern(s.pattern);
    if (re && !re.test(candidate)) candidate = stringForPattern(s.pattern, ctx.rng) ?? candidate;
    // A generated pattern match already has its own length; only fix lengths when it still fails.
    if (re && re.test(candidate)) {
      const fitted = fitLength(candidate, s, ctx);
      return re.test(fitted) ? fitted : candidate;
    }
  }
  return fitLength(candidate, s, ctx);
}
