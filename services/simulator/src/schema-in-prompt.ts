// In JSON mode a caller has no wire field for its schema, so it writes the schema into the instructions
// ("…valid against this JSON Schema: {…}"). A real model follows it; so does the simulator: it finds the
// last JSON object after the words "JSON Schema" that looks like a schema and answers from it.

const MARKER = /json schema/gi;
const SCHEMA_KEYS = ["type", "properties", "items", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"];

/** The end index (exclusive) of the balanced JSON value starting at `start`, or -1. Strings respected. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

export function schemaFromPrompt(text: string): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  for (const m of text.matchAll(MARKER)) {
    const open = text.indexOf("{", m.index + m[0].length);
    if (open < 0) continue;
    const end = balancedEnd(text, open);
    if (end < 0) continue;
    try {
      const value: unknown = JSON.parse(text.slice(open, end));
      if (value !== null && typeof value === "object" && !Array.isArray(value) && SCHEMA_KEYS.some((k) => k in value)) {
        found = value as Record<string, unknown>;
      }
    } catch {
      // not JSON: keep looking
    }
  }
  return found;
}
