import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { AppError } from "../errors/app-error.js";
import { hashJson } from "./canonical.js";
import { escapePointer, interpret, NotInterpretable, type Interpreted } from "./interpreter.js";
import { Lru } from "./lru.js";
import { surelyValidSchema } from "./meta-fast.js";

/**
 * Client JSON Schemas are untrusted input. Invariants this file keeps:
 * - nothing is compiled before it passed the structural limits (bytes, depth, nodes), so compile time is
 *   bounded by the input's size;
 * - no remote `$ref` is ever followed, `$data` is refused, and `$id` never reaches ajv (two clients' `$id`s
 *   would otherwise collide in ajv's registry);
 * - regexes that can backtrack catastrophically are refused before ajv builds them;
 * - compiled validators live in a bounded LRU keyed by the schema's content hash, and each eviction also
 *   removes the schema from ajv's own cache (ajv keeps every schema it compiles otherwise);
 * - a schema seen for the first time is not compiled: compiling costs ~1 ms and most structured calls carry a
 *   new schema. It is interpreted (interpreter.ts, same verdicts and issues as ajv) until it has been seen
 *   COMPILE_AFTER_SIGHTINGS times; schemas the interpreter does not cover are compiled at once, as before.
 */
export interface SchemaLimits {
  maxBytes: number;
  maxDepth: number;
  maxNodes: number;
  cacheSize: number;
  compileBudgetMs: number;
}

export const DEFAULT_SCHEMA_LIMITS: SchemaLimits = { maxBytes: 64 * 1024, maxDepth: 32, maxNodes: 5000, cacheSize: 1000, compileBudgetMs: 250 };

export interface SchemaIssue {
  path: string;
  message: string;
}

export interface CheckedSchema {
  schema: Record<string, unknown> | boolean;
  hash: string;
}

export interface OutputValidation {
  valid: boolean;
  errors: SchemaIssue[];
}

/** What the repair prompt and the 422 carry: no issues means valid. */
export type OutputCheck = (output: unknown) => SchemaIssue[];

type Vetted = CheckedSchema & { source: Record<string, unknown> | boolean };

/** A key stripIds removes appears in the JSON text like this (a false positive only costs a copy). */
const MAY_HOLD_IDS = /"(?:\$id|\$schema|id)":/;

type Compiled = { validate: ValidateFunction; source: object | boolean; ajv: Ajv };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const MAX_PATTERN_LENGTH = 512;
// A group that holds a quantifier and is itself quantified: (a+)+, (a|aa)*, (\w+\s?)*… the classic ReDoS shapes.
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;
const ALTERNATION_REPEAT = /\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

function makeAjv(draft2020: boolean): Ajv {
  // ownProperties: without it ajv takes `{}` to have a "toString" property, and checks a "constructor" it lacks
  const opts = { strict: false, allErrors: true, ownProperties: true, $data: false, validateSchema: false, addUsedSchema: false, loadSchema: undefined, inlineRefs: true, messages: true } as const;
  const ajv = draft2020 ? new Ajv2020(opts) : new Ajv(opts);
  addFormats(ajv as Ajv);
  return ajv as Ajv;
}

/** A schema seen this many times is worth compiling (~1 ms once, then ~0.2 µs a value against ~50 µs interpreted). */
export const COMPILE_AFTER_SIGHTINGS = 3;

/** Larger schemas are checked every time rather than kept as cache keys. */
const CHECKED_CACHE_MAX_BYTES = 8 * 1024;

export class SchemaGuard {
  private readonly draft07 = makeAjv(false);
  private readonly draft2020 = makeAjv(true);
  private readonly cache: Lru<string, Compiled>;
  /** Schema JSON text that passed check() -> its canonical hash. */
  private readonly checked: Lru<string, string>;
  /** Content hash -> the interpreted check and how many times the schema was asked for. */
  private readonly interpreted: Lru<string, { check: OutputCheck; sightings: number }>;
  compiles = 0;
  interpretations = 0;

  constructor(readonly limits: SchemaLimits = DEFAULT_SCHEMA_LIMITS) {
    this.cache = new Lru(limits.cacheSize, (_hash, c) => c.ajv.removeSchema(c.source));
    this.checked = new Lru(limits.cacheSize);
    this.interpreted = new Lru(limits.cacheSize);
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * Cheap checks for the API's door: shape, limits, forbidden keywords, local refs that resolve, safe
   * patterns, and meta-validation. Throws AppError INVALID_SCHEMA with every issue found.
   */
  check(schema: unknown): CheckedSchema {
    const { schema: checked, hash } = this.vet(schema, undefined);
    return { schema: checked, hash };
  }

  /** check(), without hashing again a schema whose hash the caller has (the worker gets it in the payload). */
  private vet(schema: unknown, knownHash: string | undefined): Vetted {
    if (typeof schema === "boolean") return { schema, hash: knownHash ?? hashJson(schema), source: schema };
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      throw invalid("the schema must be a JSON object", [{ path: "", message: "must be an object" }]);
    }
    // Walk first: it stops at the depth and node limits, so nothing recursive below ever sees a hostile depth.
    const issues = this.walk(schema as Record<string, unknown>);
    if (issues.length > 0) throw invalid(`the schema is not acceptable: ${issues[0]?.path || "/"} ${issues[0]?.message}`, issues);
    const text = JSON.stringify(schema);
    // What ajv and the interpreter see; most schemas have no id to strip, and copying one costs as much as checking it.
    const source = MAY_HOLD_IDS.test(text) ? (stripIds(schema) as Record<string, unknown>) : (schema as Record<string, unknown>);
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > this.limits.maxBytes) {
      throw invalid(`the schema is ${bytes} bytes; the limit is ${this.limits.maxBytes}`, [{ path: "", message: "too large" }]);
    }
    // The same schema text passed meta-validation before: skip it and the canonical hash (a 10,000-item
    // batch often carries one schema thousands of times; the guide's load sends the same few again and again).
    const seen = bytes <= CHECKED_CACHE_MAX_BYTES ? this.checked.get(text) : undefined;
    if (seen !== undefined) return { schema: schema as Record<string, unknown>, hash: knownHash ?? seen, source };
    if (issues.length === 0) {
      const ajv = this.ajvFor(schema as Record<string, unknown>);
      // ajv's meta-validation only where the fast check cannot vouch for the schema (meta-fast.ts).
      if (!surelyValidSchema(source) && ajv.validateSchema(source) !== true) issues.push(...toIssues(ajv.errors ?? []));
    }
    if (issues.length > 0) throw invalid("the schema is not a valid JSON Schema", issues);
    if (knownHash !== undefined) return { schema: schema as Record<string, unknown>, hash: knownHash, source };
    const hash = hashJson(schema);
    if (bytes <= CHECKED_CACHE_MAX_BYTES) this.checked.set(text, hash);
    return { schema: schema as Record<string, unknown>, hash, source };
  }

  /** The compiled validator for a schema already checked; compiled once per content hash (LRU). */
  validator(schema: Record<string, unknown> | boolean, hash?: string): ValidateFunction {
    const key = hash ?? hashJson(schema);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit.validate;
    const checked = this.vet(schema, key);
    const source = checked.source;
    const ajv = typeof source === "object" ? this.ajvFor(checked.schema as Record<string, unknown>) : this.draft2020;
    const started = performance.now();
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(source);
    } catch (err) {
      // ajv keeps a schema in its cache even when compiling it fails: a stream of distinct broken schemas
      // would otherwise grow it without bound.
      ajv.removeSchema(source);
      throw invalid(`the schema could not be compiled: ${(err as Error).message}`, [{ path: "", message: (err as Error).message }]);
    }
    this.compiles++;
    const took = performance.now() - started;
    if (took > this.limits.compileBudgetMs) {
      ajv.removeSchema(source);
      throw invalid(`the schema took ${Math.round(took)} ms to compile; the limit is ${this.limits.compileBudgetMs} ms`, [{ path: "", message: "too complex" }]);
    }
    this.cache.set(key, { validate, source, ajv });
    return validate;
  }

  /**
   * The check of outputs against a schema: the compiled validator when there is one, else the interpreter
   * for a schema seen fewer than COMPILE_AFTER_SIGHTINGS times. Throws INVALID_SCHEMA like check().
   */
  outputCheck(schema: Record<string, unknown> | boolean, hash?: string): OutputCheck {
    const key = hash ?? hashJson(schema);
    const hit = this.cache.get(key);
    if (hit !== undefined) return compiledCheck(hit.validate);
    const seen = this.interpreted.get(key);
    if (seen !== undefined) {
      if (++seen.sightings < COMPILE_AFTER_SIGHTINGS) return seen.check;
      try {
        const compiled = compiledCheck(this.validator(schema, key));
        this.interpreted.delete(key);
        return compiled;
      } catch {
        return seen.check; // over the compile budget: the interpreter's verdicts are the same
      }
    }
    const checked = this.vet(schema, key);
    const source = checked.source;
    const interpreted = interpret(source, typeof source === "object" && this.ajvFor(checked.schema as Record<string, unknown>) === this.draft07 ? "07" : "2020");
    if (interpreted === undefined) return compiledCheck(this.validator(schema, key));
    this.interpretations++;
    const check = this.withFallback(interpreted, schema, key);
    this.interpreted.set(key, { check, sightings: 1 });
    return check;
  }

  /** Validates a model's output against a schema; the errors are what the repair prompt and 422 carry. */
  validate(schema: Record<string, unknown> | boolean, output: unknown, hash?: string): OutputValidation {
    const errors = this.outputCheck(schema, hash)(output);
    return { valid: errors.length === 0, errors };
  }

  /** A value the interpreter cannot finish (a $ref loop that consumes nothing) goes to ajv, as before. */
  private withFallback(interpreted: Interpreted, schema: Record<string, unknown> | boolean, key: string): OutputCheck {
    return (output) => {
      try {
        return interpreted(output);
      } catch (err) {
        if (!(err instanceof NotInterpretable)) throw err;
        return compiledCheck(this.validator(schema, key))(output);
      }
    };
  }

  private ajvFor(schema: Record<string, unknown>): Ajv {
    const declared = schema.$schema;
    return typeof declared === "string" && /draft-0[4-7]/.test(declared) ? this.draft07 : this.draft2020;
  }

  /**
   * Bounds the schema (nodes, depth) and finds forbidden keywords, remote refs and unsafe patterns. The keys down to
   * the current node are kept on a stack and joined into a JSON pointer only for an issue: most schemas have none.
   */
  private walk(root: Record<string, unknown>): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    const keys: string[] = [];
    const here = (): string => pointerOf(keys);
    let nodes = 0;
    const visit = (node: unknown, depth: number): void => {
      if (issues.length >= 20) return;
      nodes++;
      if (nodes > this.limits.maxNodes) {
        if (nodes === this.limits.maxNodes + 1) issues.push({ path: here(), message: `more than ${this.limits.maxNodes} nodes` });
        return;
      }
      if (depth > this.limits.maxDepth) {
        issues.push({ path: here(), message: `nested deeper than ${this.limits.maxDepth} levels` });
        return;
      }
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          keys.push(String(i));
          visit(node[i], depth + 1);
          keys.pop();
        }
        return;
      }
      if (node === null || typeof node !== "object") return;
      for (const k in node) {
        if (!Object.hasOwn(node, k)) continue;
        const v = (node as Record<string, unknown>)[k];
        keys.push(k);
        if (k === "$data") issues.push({ path: here(), message: "$data references are not allowed" });
        else if ((k === "$ref" || k === "$dynamicRef" || k === "$recursiveRef") && typeof v === "string") checkRef(root, v, here, issues);
        else if (k === "pattern" && typeof v === "string") checkPattern(v, here, issues);
        else if (k === "patternProperties" && v !== null && typeof v === "object") {
          for (const p of Object.keys(v as object)) checkPattern(p, () => `${here()}/${escapePointer(p)}`, issues);
        }
        visit(v, depth + 1);
        keys.pop();
      }
    };
    visit(root, 0);
    return issues;
  }
}

function checkRef(root: Record<string, unknown>, ref: string, path: () => string, issues: SchemaIssue[]): void {
  if (!ref.startsWith("#")) {
    issues.push({ path: path(), message: `only local references ("#/...") are allowed, got "${ref.slice(0, 100)}"` });
    return;
  }
  if (ref === "#" || !ref.startsWith("#/")) return; // root or a plain-name anchor, resolved by ajv at compile
  let target: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (target === null || typeof target !== "object" || !Object.hasOwn(target, part)) {
      issues.push({ path: path(), message: `reference "${ref.slice(0, 100)}" does not resolve inside the schema` });
      return;
    }
    target = (target as Record<string, unknown>)[part];
  }
}

function checkPattern(pattern: string, path: () => string, issues: SchemaIssue[]): void {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    issues.push({ path: path(), message: `pattern longer than ${MAX_PATTERN_LENGTH} characters` });
    return;
  }
  try {
    new RegExp(pattern, "u");
  } catch {
    issues.push({ path: path(), message: "pattern is not a valid regular expression" });
    return;
  }
  if (NESTED_QUANTIFIER.test(pattern) || ALTERNATION_REPEAT.test(pattern) || /\\[1-9]/.test(pattern)) {
    issues.push({ path: path(), message: "pattern has nested quantifiers or backreferences, which can backtrack catastrophically" });
  }
}

function stripIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripIds);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$id" || k === "id" && typeof v === "string" && v.includes("/")) continue;
    if (k === "$schema") continue;
    out[k] = k === "properties" || k === "$defs" || k === "definitions" || k === "patternProperties" ? mapValues(v) : stripIds(v);
  }
  return out;
}

function mapValues(v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return stripIds(v);
  return Object.fromEntries(Object.entries(v).map(([k, s]) => [k, stripIds(s)]));
}

function pointerOf(keys: readonly string[]): string {
  let out = "";
  for (const k of keys) out += `/${escapePointer(k)}`;
  return out;
}

function compiledCheck(validate: ValidateFunction): OutputCheck {
  return (output) => (validate(output) === true ? [] : toIssues(validate.errors ?? []));
}

export function toIssues(errors: ErrorObject[]): SchemaIssue[] {
  return errors.slice(0, 50).map((e) => ({ path: e.instancePath || e.schemaPath, message: e.message ?? e.keyword }));
}

function invalid(message: string, issues: SchemaIssue[]): AppError {
  return new AppError("INVALID_SCHEMA", message, { details: { errors: issues } });
}
