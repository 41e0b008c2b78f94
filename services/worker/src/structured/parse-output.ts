import type { SchemaIssue } from "@llmq/shared";

/**
 * The model's text as JSON. Models in JSON mode sometimes wrap their answer in a Markdown fence or a
 * sentence; the first `{`/`[` to the matching last `}`/`]` is tried before giving up.
 */
export type ParsedOutput = { ok: true; value: unknown } | { ok: false; errors: SchemaIssue[] };

export function parseJsonOutput(text: string): ParsedOutput {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: false, errors: [{ path: "", message: "the answer was empty, expected JSON" }] };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch (err) {
    const inner = embeddedJson(trimmed);
    if (inner !== undefined) {
      try {
        return { ok: true, value: JSON.parse(inner) };
      } catch {
        // fall through to the original error, which points into the whole answer
      }
    }
    return { ok: false, errors: [{ path: "", message: `the answer is not valid JSON (${(err as Error).message})` }] };
  }
}

function embeddedJson(text: string): string | undefined {
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fence?.[1] !== undefined) return fence[1].trim();
  const start = text.search(/[[{]/);
  if (start < 0) return undefined;
  const close = text[start] === "{" ? "}" : "]";
  const end = text.lastIndexOf(close);
  return end > start ? text.slice(start, end + 1) : undefined;
}
