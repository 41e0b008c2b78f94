// Parses an OpenAI Chat Completions request (also Groq's, which is the same format) into a
// SimRequest, refusing what the real API refuses with the same kind of 400.
// https://platform.openai.com/docs/api-reference/chat/create
import { MARKER_PREFIX, stripMarkers } from "./faults.js";
import {
  contentText, isPositiveInt, problem, type OutputMode, type ParseResult, type Provider,
} from "./sim-request.js";
import { strictSchemaProblem } from "./strict-schema.js";
import { estimatePromptTokens } from "./tokens.js";

type Obj = Record<string, unknown>;

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
/** Reasoning models refuse the legacy `max_tokens`, and llmq must send `max_completion_tokens`. */
const REASONING_MODEL = /^(o\d|gpt-5)/;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseMode(body: Obj, provider: Provider, allText: string): OutputMode | ParseResult {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObj) : [];
  const choice = body.tool_choice;
  const fn = (t: Obj): Obj => (isObj(t.function) ? t.function : {});
  if (tools.length > 0 && choice !== "none") {
    if (isObj(choice) && isObj(choice.function)) {
      const name = choice.function.name;
      const tool = tools.find((t) => fn(t).name === name);
      if (!tool) return problem(`Invalid value for 'tool_choice': function '${String(name)}' not found in 'tools'.`, "tool_choice");
      return { type: "tool", name: String(name), schema: fn(tool).parameters ?? {}, forcedByName: true };
    }
    // `auto` has no model to decide, so the simulator calls a tool only when the prompt names it.
    const named = tools.find((t) => typeof fn(t).name === "string" && allText.includes(fn(t).name as string));
    const picked = choice === "required" ? (named ?? tools[0]) : named;
    if (picked) return { type: "tool", name: String(fn(picked).name), schema: fn(picked).parameters ?? {}, forcedByName: false };
  }
  const rf = body.response_format;
  if (rf === undefined || rf === null) return { type: "text" };
  if (!isObj(rf)) return problem("Invalid type for 'response_format': expected an object.", "response_format");
  if (rf.type === "text") return { type: "text" };
  if (rf.type === "json_object") {
    if (provider === "openai" && !/json/i.test(allText)) {
      return problem("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "messages");
    }
    return { type: "json_object" };
  }
  if (rf.type === "json_schema") {
    const js = rf.json_schema;
    if (!isObj(js)) return problem("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema", "missing_required_parameter");
    if (typeof js.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) {
      return problem("Invalid 'response_format.json_schema.name': must be 1-64 characters of a-z, A-Z, 0-9, _ or -.", "response_format.json_schema.name");
    }
    const strict = js.strict === true;
    if (strict) {
      const issue = strictSchemaProblem(js.schema);
      if (issue) return problem(`Invalid schema for response_format '${js.name}': ${issue}`, "response_format", "invalid_json_schema");
    }
    return { type: "json_schema", name: js.name, schema: js.schema ?? {}, strict };
  }
  return problem(`Invalid value: '${String(rf.type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`, "response_format.type", "invalid_value");
}

export function parseOpenAIRequest(body: unknown, provider: "openai" | "groq"): ParseResult {
  if (!isObj(body)) return problem("We could not parse the JSON body of your request. The body must be a JSON object.");
  const model = body.model;
  if (typeof model !== "string" || model === "") return problem("you must provide a model parameter", "model");
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return problem("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages", "empty_array");
  }
  const texts: string[] = [];
  const markerSources: string[] = [];
  let lastUser = "";
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isObj(m) || typeof m.role !== "string" || !ROLES.has(m.role)) {
      return problem(`Invalid value for 'messages[${i}].role'.`, `messages[${i}].role`, "invalid_value");
    }
    const text = contentText(m.content);
    texts.push(text);
    if (text.includes(MARKER_PREFIX)) markerSources.push(text);
    if (m.role === "user") lastUser = text;
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    return problem("The llmq simulator only supports n=1.", "n", "unsupported_value");
  }
  if (body.max_tokens != null && REASONING_MODEL.test(model) && provider === "openai") {
    return problem("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter");
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null && !isPositiveInt(maxTokens)) {
    return problem("Invalid 'max_tokens': expected an integer of at least 1.", "max_tokens", "invalid_value");
  }
  const allText = texts.join("\n");
  const mode = parseMode(body, provider, allText);
  if ("ok" in mode) return mode;
  const extra = mode.type === "tool" || mode.type === "json_schema" ? JSON.stringify(mode.schema).length : 0;
  const streamOptions = isObj(body.stream_options) ? body.stream_options : {};
  return {
    ok: true,
    request: {
      provider,
      model,
      stream: body.stream === true,
      includeUsage: streamOptions.include_usage === true,
      maxTokens: isPositiveInt(maxTokens) ? maxTokens : undefined,
      mode,
      promptText: markerSources.length > 0 ? stripMarkers(allText) : allText,
      lastUserText: stripMarkers(lastUser || allText),
      promptTokens: estimatePromptTokens(texts, extra),
      markerSources,
    },
  };
}
