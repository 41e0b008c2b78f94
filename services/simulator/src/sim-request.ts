// The provider-neutral view of a chat request: each provider's parser produces one, the answer
// generator consumes it, and the provider's wire module renders the answer back in its format.

export type Provider = "openai" | "anthropic" | "groq";

export type OutputMode =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: unknown; strict: boolean }
  | { type: "tool"; name: string; schema: unknown; forcedByName: boolean };

export interface SimRequest {
  provider: Provider;
  model: string;
  stream: boolean;
  /** OpenAI/Groq `stream_options.include_usage`: a final chunk with usage and no choices. */
  includeUsage: boolean;
  maxTokens: number | undefined;
  mode: OutputMode;
  /** All message text, system included, markers removed: topical words come from here. */
  promptText: string;
  /** The last user message, markers removed: count and length hints come from here. */
  lastUserText: string;
  promptTokens: number;
  /** Texts of the messages (system included) that carry a `[[sim:…]]` marker. */
  markerSources: string[];
}

/** A request the provider would refuse, with the fields its error body needs. */
export interface RequestProblem {
  status: 400;
  message: string;
  param: string | null;
  code: string | null;
}

export type ParseResult = { ok: true; request: SimRequest } | { ok: false; problem: RequestProblem };

export function problem(message: string, param: string | null = null, code: string | null = null): ParseResult {
  return { ok: false, problem: { status: 400, message, param, code } };
}

/** Text of a message `content`: a string, or the text parts of a parts/blocks array (images ignored). */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) {
    if (typeof part !== "object" || part === null) continue;
    const p = part as Record<string, unknown>;
    if (typeof p.text === "string") out += (out ? "\n" : "") + p.text;
    else if (p.type === "tool_result") out += (out ? "\n" : "") + contentText(p.content);
    else if (p.type === "tool_use" && p.input !== undefined) out += (out ? "\n" : "") + JSON.stringify(p.input);
  }
  return out;
}

export function isPositiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}
