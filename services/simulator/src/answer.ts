// Builds the simulated answer for a request: free text, JSON, or a tool call, sized by the prompt
// and max_tokens, and corrupted on purpose when an `invalid-json` or `bad-schema` fault applies.
// Provider-neutral; the wire modules render it.
import type { FaultKind } from "./faults.js";
import { inferCount, inferTargetTokens, topicalWords, wantsJson } from "./prompt-hints.js";
import { createRng } from "./rng.js";
import { breakJson, violateSchema } from "./schema-corrupt.js";
import { fakeInstance } from "./schema-faker.js";
import { schemaFromPrompt } from "./schema-in-prompt.js";
import type { SimRequest } from "./sim-request.js";
import { generateText, jsonFromPrompt, truncateToTokens } from "./text-gen.js";
import { estimateTokens } from "./tokens.js";

export type Finish = "stop" | "length";

export type Answer =
  | { kind: "text"; text: string; finish: Finish; outputTokens: number }
  | { kind: "tool"; name: string; args: string; input: unknown; outputTokens: number };

function textAnswer(text: string, maxTokens: number | undefined): Answer {
  if (maxTokens !== undefined && estimateTokens(text) > maxTokens) {
    return { kind: "text", text: truncateToTokens(text, maxTokens), finish: "length", outputTokens: maxTokens };
  }
  return { kind: "text", text, finish: "stop", outputTokens: estimateTokens(text) };
}

/**
 * Tool arguments are never cut by max_tokens: a tool call's input must stay an object on the wire
 * (Anthropic's `input`), so only text content shows truncation.
 */
export function buildAnswer(req: SimRequest, seed: number, fault: FaultKind | undefined): Answer {
  const rng = createRng(seed);
  const topics = topicalWords(req.promptText);
  const hints = req.lastUserText;
  const mode = req.mode;
  let value: unknown;
  let schema: unknown;
  let pretty = false;
  if (mode.type === "json_schema" || mode.type === "tool") {
    schema = mode.schema;
    value = fakeInstance(schema, { rng, count: inferCount(hints), words: topics });
  } else if (mode.type === "json_object" && (schema = schemaFromPrompt(req.promptText)) !== undefined) {
    value = fakeInstance(schema, { rng, count: inferCount(hints), words: topics });
  } else if (mode.type === "json_object" || wantsJson(hints)) {
    value = jsonFromPrompt(rng, hints, topics, inferCount(hints));
    pretty = mode.type === "text"; // asked for JSON in prose: answer like a chat model would
  } else {
    return textAnswer(generateText(rng, topics, inferTargetTokens(hints)), req.maxTokens);
  }
  if (fault === "bad-schema" && schema !== undefined) value = violateSchema(schema, value).value;
  let json = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
  if (fault === "invalid-json") {
    json = breakJson(json);
    // Anthropic cannot carry unparsable tool input: the model "answers in text" instead.
    if (mode.type === "tool" && req.provider === "anthropic") {
      return { kind: "text", text: json, finish: "stop", outputTokens: estimateTokens(json) };
    }
  }
  if (mode.type === "tool") {
    return { kind: "tool", name: mode.name, args: json, input: value, outputTokens: estimateTokens(json) };
  }
  return textAnswer(json, req.maxTokens);
}
