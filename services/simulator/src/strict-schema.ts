// OpenAI rejects a `strict: true` schema that breaks its structured-output rules with a 400 before
// generating anything. The simulator checks the two rules that matter most in practice, so a
// schema llmq sends in strict mode fails here the way it would against the real API:
//   every object has `additionalProperties: false`, and `required` lists every property.
// https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
import { isSchema, type Schema } from "./schema-resolve.js";

function contextOf(path: readonly string[]): string {
  return `(${path.map((p) => `'${p}'`).join(", ")}${path.length === 1 ? "," : ""})`;
}

function isObjectSchema(s: Schema): boolean {
  return s.type === "object" || (Array.isArray(s.type) && s.type.includes("object")) || isSchema(s.properties);
}

function check(s: unknown, path: string[], depth: number): string | undefined {
  if (!isSchema(s) || depth > 64) return undefined;
  if (isObjectSchema(s) && s.$ref === undefined) {
    if (s.additionalProperties !== false) {
      return `In context=${contextOf(path)}, 'additionalProperties' is required to be supplied and to be false.`;
    }
    const props = isSchema(s.properties) ? Object.keys(s.properties) : [];
    const required = Array.isArray(s.required) ? s.required : [];
    const missing = props.filter((p) => !required.includes(p));
    if (missing.length > 0) {
      return `In context=${contextOf(path)}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    }
  }
  const children: Array<[string[], unknown]> = [];
  for (const group of ["properties", "$defs", "definitions"] as const) {
    const g = s[group];
    if (isSchema(g)) for (const [k, v] of Object.entries(g)) children.push([[...path, group, k], v]);
  }
  if (s.items !== undefined) children.push([[...path, "items"], s.items]);
  for (const group of ["anyOf", "allOf", "prefixItems"] as const) {
    const g = s[group];
    if (Array.isArray(g)) g.forEach((v, i) => children.push([[...path, group, String(i)], v]));
  }
  for (const [childPath, child] of children) {
    const problem = check(child, childPath, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** The first strict-mode violation in OpenAI's wording, or undefined when the schema is acceptable. */
export function strictSchemaProblem(schema: unknown): string | undefined {
  if (!isSchema(schema)) return "schema must be a JSON Schema object.";
  if (schema.type !== "object" || Array.isArray(schema.anyOf)) {
    return "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"" + String(schema.type ?? "None") + "\"'.";
  }
  return check(schema, [], 0);
}
