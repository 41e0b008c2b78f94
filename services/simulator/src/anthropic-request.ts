// Parses an Anthropic Messages request into a SimRequest, refusing what the real API refuses
// (missing max_tokens, a `system` role inside messages) with an invalid_request_error.
// https://docs.anthropic.com/en/api/messages
import { MARKER_PREFIX, stripMarkers } from "./faults.js";
import { contentText, isPositiveInt, problem, type OutputMode, type ParseResult } from "./sim-request.js";
import { estimatePromptTokens } from "./tokens.js";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseMode(body: Obj, allText: string): OutputMode | ParseResult {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObj) : [];
  const choice = isObj(body.tool_choice) ? body.tool_choice : { type: "auto" };
  if (tools.length > 0 && choice.type !== "none") {
    if (choice.type === "tool") {
      const tool = tools.find((t) => t.name === choice.name);
      if (!tool) return problem(`tool_choice: tool '${String(choice.name)}' not found in tools`);
      return { type: "tool", name: String(tool.name), schema: tool.input_schema ?? {}, forcedByName: true };
    }
    // `auto` has no model to decide, so the simulator calls a tool only when the prompt names it.
    const named = tools.find((t) => typeof t.name === "string" && allText.includes(t.name));
    const picked = choice.type === "any" ? (named ?? tools[0]) : named;
    if (picked) return { type: "tool", name: String(picked.name), schema: picked.input_schema ?? {}, forcedByName: false };
  }
  // Structured outputs: `output_config.format` (GA) and the older beta `output_format`.
  const config = isObj(body.output_config) ? body.output_config : {};
  const format = isObj(config.format) ? config.format : isObj(body.output_format) ? body.output_format : undefined;
  if (format?.type === "json_schema") return { type: "json_schema", name: "output", schema: format.schema ?? {}, strict: true };
  return { type: "text" };
}

export function parseAnthropicRequest(body: unknown): ParseResult {
  if (!isObj(body)) return problem("Request body must be a JSON object.");
  if (typeof body.model !== "string" || body.model === "") return problem("model: Field required");
  if (body.max_tokens === undefined) return problem("max_tokens: Field required");
  if (!isPositiveInt(body.max_tokens)) return problem("max_tokens: Input should be a valid integer greater than or equal to 1");
  const messages = body.messages;
  if (!Array.isArray(messages)) return problem("messages: Field required");
  if (messages.length === 0) return problem("messages: at least one message is required");
  const system = contentText(body.system);
  const texts: string[] = system ? [system] : [];
  const markerSources: string[] = system.includes(MARKER_PREFIX) ? [system] : [];
  let lastUser = "";
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isObj(m) || (m.role !== "user" && m.role !== "assistant")) {
      const role = isObj(m) ? String(m.role) : "undefined";
      return problem(
        role === "system"
          ? `messages: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`
          : `messages.${i}.role: Input should be 'user' or 'assistant'`,
      );
    }
    const text = contentText(m.content);
    texts.push(text);
    if (text.includes(MARKER_PREFIX)) markerSources.push(text);
    if (m.role === "user") lastUser = text;
  }
  const allText = texts.join("\n");
  const mode = parseMode(body, allText);
  if ("ok" in mode) return mode;
  const extra = mode.type === "tool" || mode.type === "json_schema" ? JSON.stringify(mode.schema).length : 0;
  return {
    ok: true,
    request: {
      provider: "anthropic",
      model: body.model,
      stream: body.stream === true,
      includeUsage: true,
      maxTokens: body.max_tokens,
      mode,
      promptText: markerSources.length > 0 ? stripMarkers(allText) : allText,
      lastUserText: stripMarkers(lastUser || allText),
      promptTokens: estimatePromptTokens(texts, extra),
      markerSources,
    },
  };
}
