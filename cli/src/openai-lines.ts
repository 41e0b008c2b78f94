import type { BatchItem } from "./api-types.js";
import { UsageError } from "./errors.js";

/**
 * One OpenAI batch line `{custom_id, method, url, body}` (body: a Chat Completions request) as an llmq batch item.
 * When the API takes `chat` items (its batch schema lists the type), the body goes as it is. Otherwise it is
 * converted: `response_format` json_schema (or json_object) makes a `structured` item with that schema, anything
 * else a `conversation`; messages keep their roles (`developer` becomes `system`), content parts are joined as
 * text; `max_tokens` or `max_completion_tokens` and `temperature` carry over. Other fields (tools, n, top_p, …)
 * have no llmq equivalent there: they are dropped and reported, never silently.
 */
const KEPT = new Set(["model", "messages", "max_tokens", "max_completion_tokens", "temperature", "response_format"]);

export function fromOpenAiLine(line: Record<string, unknown>, where: string, chatType: boolean): { item: BatchItem; dropped: string[] } {
  const { custom_id: customId, url, body } = line;
  if (typeof customId !== "string" || customId === "") throw new UsageError(`${where}: custom_id must be a non-empty string`);
  if (typeof url !== "string" || !url.endsWith("/chat/completions")) throw new UsageError(`${where}: only /v1/chat/completions lines are supported, not ${String(url).slice(0, 60)}`);
  if (typeof body !== "object" || body === null) throw new UsageError(`${where}: body must be an object`);
  if (chatType) return { item: { custom_id: customId, type: "chat", body: body as Record<string, unknown> }, dropped: [] };
  const b = body as Record<string, unknown>;
  const dropped = Object.keys(b).filter((k) => !KEPT.has(k) && k !== "stream");
  if (typeof b.model !== "string") throw new UsageError(`${where}: body.model must be a string`);
  const messages = toMessages(b.messages, where);
  const out: Record<string, unknown> = { model: b.model, messages };
  const maxTokens = b.max_tokens ?? b.max_completion_tokens;
  if (maxTokens !== undefined) out.max_tokens = maxTokens;
  if (b.temperature !== undefined) out.temperature = b.temperature;
  const format = b.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === "json_schema" || format?.type === "json_object") {
    const schema = format.type === "json_schema" ? format.json_schema?.schema : { type: "object" };
    if (typeof schema !== "object" || schema === null) throw new UsageError(`${where}: response_format.json_schema.schema must be a JSON Schema object`);
    return { item: { custom_id: customId, type: "structured", body: { ...out, schema } }, dropped };
  }
  return { item: { custom_id: customId, type: "conversation", body: out }, dropped };
}

function toMessages(raw: unknown, where: string): { role: string; content: string }[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new UsageError(`${where}: body.messages must be a non-empty array`);
  return raw.map((m: unknown, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    const r = role === "developer" ? "system" : role;
    if (r !== "system" && r !== "user" && r !== "assistant") throw new UsageError(`${where}: messages[${i}].role "${String(role)}" has no llmq equivalent (system, user, assistant)`);
    return { role: r, content: textOf(content, `${where}: messages[${i}].content`) };
  });
}

function textOf(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        const p = part as { type?: unknown; text?: unknown };
        if (p?.type !== "text" || typeof p.text !== "string") throw new UsageError(`${where}: only text parts are supported`);
        return p.text;
      })
      .join("\n");
  }
  throw new UsageError(`${where} must be a string or text parts`);
}
