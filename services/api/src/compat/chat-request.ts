import { AppError, type AnthropicBlock, type AnthropicMessagesBody, type ChatTurn, type OpenAIChatBody, type ToolCall, type ToolChoice, type ToolSpec } from "@llmq/shared";

/**
 * OpenAI Chat Completions and Anthropic Messages request bodies (already checked against their JSON Schemas)
 * as llmq's one provider-neutral chat request. What the schemas cannot say is refused here, naming the field:
 * non-text content (images, audio, files), a tool turn without its call id.
 */
export interface ChatParts {
  dialect: "openai" | "anthropic";
  model: string;
  messages: ChatTurn[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  format: { type: "text" } | { type: "json_object" } | { type: "json_schema"; name: string; schema: Record<string, unknown> | boolean; strict: boolean };
  stream: boolean;
}

export function fromOpenAIChat(body: OpenAIChatBody): ChatParts {
  const messages: ChatTurn[] = body.messages.map((m, i) => {
    const content = openaiText(m.content, `/messages/${i}/content`);
    if (m.role === "tool") {
      if (m.tool_call_id === undefined) throw fieldError(`/messages/${i}/tool_call_id`, "is required for a tool message");
      return { role: "tool", content, tool_call_id: m.tool_call_id };
    }
    const role = m.role === "developer" ? "system" : m.role;
    if (role === "assistant" && m.tool_calls !== undefined && m.tool_calls.length > 0) {
      return { role, content, tool_calls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) };
    }
    return { role, content };
  });
  const parts: ChatParts = { dialect: "openai", model: body.model, messages, format: { type: "text" }, stream: body.stream === true };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined) parts.maxTokens = maxTokens;
  if (body.temperature !== undefined) parts.temperature = body.temperature;
  if (body.top_p !== undefined) parts.topP = body.top_p;
  if (body.stop !== undefined && body.stop !== null) parts.stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  if (body.tools !== undefined && body.tools.length > 0) {
    parts.tools = body.tools.map((t) => ({
      name: t.function.name,
      parameters: t.function.parameters ?? { type: "object", properties: {} },
      ...(t.function.description !== undefined && { description: t.function.description }),
      ...(typeof t.function.strict === "boolean" && { strict: t.function.strict }),
    }));
  }
  if (body.tool_choice !== undefined) parts.toolChoice = typeof body.tool_choice === "string" ? body.tool_choice : { name: body.tool_choice.function.name };
  const rf = body.response_format;
  if (rf?.type === "json_object") parts.format = { type: "json_object" };
  else if (rf?.type === "json_schema" && rf.json_schema !== undefined) {
    if (rf.json_schema.schema === undefined) throw fieldError("/response_format/json_schema/schema", "is required");
    parts.format = { type: "json_schema", name: rf.json_schema.name, schema: rf.json_schema.schema, strict: rf.json_schema.strict === true };
  }
  checkToolChoice(parts, "/tool_choice");
  return parts;
}

function openaiText(content: OpenAIChatBody["messages"][number]["content"], path: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((p, j) => {
      if (p.type !== "text" || typeof p.text !== "string") throw unsupportedPart(`${path}/${j}`, p.type);
      return p.text;
    })
    .join("\n");
}

export function fromAnthropicMessages(body: AnthropicMessagesBody): ChatParts {
  const messages: ChatTurn[] = [];
  if (body.system !== undefined) {
    const system = typeof body.system === "string" ? body.system : body.system.map((b) => b.text).join("\n\n");
    if (system !== "") messages.push({ role: "system", content: system });
  }
  body.messages.forEach((m, i) => {
    if (typeof m.content === "string") {
      messages.push({ role: m.role, content: m.content });
      return;
    }
    if (m.role === "assistant") messages.push(assistantTurn(m.content, `/messages/${i}/content`));
    else messages.push(...userTurns(m.content, `/messages/${i}/content`));
  });
  const parts: ChatParts = { dialect: "anthropic", model: body.model, messages, maxTokens: body.max_tokens, format: { type: "text" }, stream: body.stream === true };
  if (body.temperature !== undefined) parts.temperature = body.temperature;
  if (body.top_p !== undefined) parts.topP = body.top_p;
  if (body.stop_sequences !== undefined && body.stop_sequences.length > 0) parts.stop = body.stop_sequences;
  if (body.tools !== undefined && body.tools.length > 0) {
    parts.tools = body.tools.map((t) => ({ name: t.name, parameters: t.input_schema, ...(t.description !== undefined && { description: t.description }) }));
  }
  const choice = body.tool_choice;
  if (choice !== undefined) parts.toolChoice = choice.type === "any" ? "required" : choice.type === "tool" ? { name: choice.name ?? "" } : choice.type;
  const format = body.output_config?.format;
  if (format !== undefined) parts.format = { type: "json_schema", name: "output", schema: format.schema, strict: true };
  checkToolChoice(parts, "/tool_choice");
  return parts;
}

function assistantTurn(blocks: AnthropicBlock[], path: string): ChatTurn {
  const text: string[] = [];
  const calls: ToolCall[] = [];
  blocks.forEach((b, j) => {
    if (b.type === "text") text.push(b.text ?? "");
    else if (b.type === "tool_use") calls.push({ id: b.id ?? "", name: b.name ?? "", arguments: JSON.stringify(b.input ?? {}) });
    else if (b.type !== "thinking" && b.type !== "redacted_thinking") throw unsupportedPart(`${path}/${j}`, b.type);
  });
  return calls.length > 0 ? { role: "assistant", content: text.join(""), tool_calls: calls } : { role: "assistant", content: text.join("") };
}

/** tool_result blocks become tool turns, in order; the text around them becomes user turns. */
function userTurns(blocks: AnthropicBlock[], path: string): ChatTurn[] {
  const turns: ChatTurn[] = [];
  let text: string[] = [];
  const flush = (): void => {
    if (text.length > 0) turns.push({ role: "user", content: text.join("\n") });
    text = [];
  };
  blocks.forEach((b, j) => {
    if (b.type === "text") text.push(b.text ?? "");
    else if (b.type === "tool_result") {
      flush();
      if (b.tool_use_id === undefined) throw fieldError(`${path}/${j}/tool_use_id`, "is required for a tool_result block");
      const content = typeof b.content === "string" ? b.content : (b.content ?? []).map((c, k) => (c.type === "text" ? (c.text ?? "") : throwPart(`${path}/${j}/content/${k}`, c.type))).join("\n");
      turns.push({ role: "tool", content: b.is_error === true ? `Error: ${content}` : content, tool_call_id: b.tool_use_id });
    } else throw unsupportedPart(`${path}/${j}`, b.type);
  });
  flush();
  return turns;
}

function checkToolChoice(parts: ChatParts, path: string): void {
  const c = parts.toolChoice;
  if (c === undefined || typeof c === "string") return;
  if (!(parts.tools ?? []).some((t) => t.name === c.name)) throw fieldError(path, `names tool "${c.name.slice(0, 64)}", which is not in tools`);
}

function throwPart(path: string, type: string | undefined): never {
  throw unsupportedPart(path, type);
}

function unsupportedPart(path: string, type: string | undefined): AppError {
  return fieldError(path, `content of type "${String(type).slice(0, 40)}" is not supported: llmq sends text, tool calls and tool results`);
}

export function fieldError(path: string, message: string): AppError {
  return new AppError("INVALID_REQUEST", `${path} ${message}`, { details: { errors: [{ path, message }] } });
}
