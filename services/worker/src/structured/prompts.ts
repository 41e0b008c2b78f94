import type { ChatMessage, SchemaIssue } from "@llmq/shared";
import type { OutputMode } from "../providers/types.js";

/**
 * The words llmq adds to a structured request: instructions for JSON mode (the schema travels in the
 * prompt there) and the repair turn that asks the model to fix an answer that failed validation.
 */
const MAX_LISTED_ERRORS = 20;
const MAX_ECHOED_OUTPUT = 20_000;

export function schemaInstructions(schema: Record<string, unknown>, wrapKey: string | undefined): string {
  const where = wrapKey === undefined ? "" : ` Put the answer in the "${wrapKey}" field.`;
  return `Respond with a single JSON object and nothing else: no prose, no Markdown. It must be valid against this JSON Schema:${where}\n${JSON.stringify(schema)}`;
}

export function joinSystem(...parts: Array<string | undefined>): string | undefined {
  const kept = parts.filter((p): p is string => p !== undefined && p !== "");
  return kept.length === 0 ? undefined : kept.join("\n\n");
}

/** The assistant's failed answer and a user turn listing what is wrong with it. */
export function repairTurns(rawOutput: string, errors: SchemaIssue[], output: OutputMode): ChatMessage[] {
  const listed = errors.slice(0, MAX_LISTED_ERRORS).map((e) => `- ${e.path === "" ? "(root)" : e.path}: ${e.message}`);
  if (errors.length > MAX_LISTED_ERRORS) listed.push(`- …and ${errors.length - MAX_LISTED_ERRORS} more`);
  const how = output.kind === "tool" ? `Call the ${output.name} tool again with corrected input.` : "Answer again with only the corrected JSON.";
  return [
    { role: "assistant", content: rawOutput.length > MAX_ECHOED_OUTPUT ? rawOutput.slice(0, MAX_ECHOED_OUTPUT) : rawOutput || "(empty)" },
    { role: "user", content: `Your answer does not match the required JSON Schema:\n${listed.join("\n")}\n${how}` },
  ];
}
