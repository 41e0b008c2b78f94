import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject } from "ajv";
import type { SchemaIssue } from "./schema-guard.js";

/**
 * Validators for llmq's own request schemas (trusted, compiled once at start-up; client schemas go through
 * SchemaGuard instead). The issues name field paths as JSON Pointers, with unknown fields named as such.
 */
export type RequestValidator = (body: unknown) => SchemaIssue[] | undefined;

const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, messages: true, verbose: true, allowUnionTypes: true });

export function compileRequestValidator(schema: Readonly<Record<string, unknown>>): RequestValidator {
  const validate = ajv.compile(schema);
  return (body) => (validate(body) ? undefined : requestIssues(validate.errors ?? []));
}

function requestIssues(errors: ErrorObject[]): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string): void => {
    const key = `${path}\u0000${message}`;
    if (seen.has(key) || issues.length >= 50) return;
    seen.add(key);
    issues.push({ path, message });
  };
  // A oneOf of `required` alternatives (prompt | messages, schema | schema_id) would report each branch's
  // missing property; one line naming the alternatives reads better.
  for (const e of errors) {
    if (e.keyword === "additionalProperties") {
      add(`${e.instancePath}/${escape((e.params as { additionalProperty: string }).additionalProperty)}`, "unknown field");
    } else if (e.keyword === "required" && /\/oneOf\/\d+\/required$/.test(e.schemaPath)) {
      continue;
    } else if (e.keyword === "oneOf") {
      const names = (e.schema as { required?: string[] }[]).flatMap((branch) => branch.required ?? []);
      add(e.instancePath, names.length > 0 ? `give exactly one of ${names.join(" or ")}` : (e.message ?? "oneOf"));
    } else if (e.keyword === "required") {
      add(`${e.instancePath}/${escape((e.params as { missingProperty: string }).missingProperty)}`, "is required");
    } else if (e.keyword === "enum") {
      add(e.instancePath, `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).join(", ")}`);
    } else {
      add(e.instancePath, e.message ?? e.keyword);
    }
  }
  return issues;
}

function escape(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}
