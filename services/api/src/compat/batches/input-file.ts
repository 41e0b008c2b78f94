import { AppError } from "@llmq/shared";
import { FILE_READ_CHUNK, type FileStore } from "./file-store.js";

/**
 * An uploaded batch file as llmq batch items. Each non-blank line must be OpenAI's batch request line
 * `{custom_id, method: "POST", url: <the batch's endpoint>, body}`; the first bad line refuses the batch with a
 * 400 naming the line (OpenAI accepts the create call and then fails the batch with `errors.data[].line`; llmq
 * checks before it stores anything, so the caller learns at once and no batch is left behind). The file is read
 * a megabyte at a time and parsed line by line.
 */
export interface InputItem {
  /** 1-based line number in the file. */
  line: number;
  item: { custom_id: string; type: "chat"; body: Record<string, unknown> };
}

export async function planInputFile(files: FileStore, fileId: string, maxItems: number, endpoint: string): Promise<InputItem[]> {
  const items: InputItem[] = [];
  const decoder = new TextDecoder("utf-8");
  let carry = "";
  let line = 0;
  const take = (text: string): void => {
    line++;
    if (text.trim() === "") return;
    if (items.length >= maxItems) {
      throw new AppError("BATCH_TOO_LARGE", `a batch holds at most ${maxItems} requests (BATCH_MAX_ITEMS); this file has more`, { details: { max_items: maxItems, line } });
    }
    items.push({ line, item: requestLine(text, line, endpoint) });
  };
  for (let from = 0; ; from += FILE_READ_CHUNK) {
    const chunk = await files.read(fileId, from);
    const text = carry + decoder.decode(chunk, { stream: chunk.length === FILE_READ_CHUNK });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const l of lines) take(l);
    if (chunk.length < FILE_READ_CHUNK) break;
  }
  if (carry !== "") take(carry);
  if (items.length === 0) throw lineError(0, "the file has no requests: one JSON request per line", "/input_file_id");
  return items;
}

function requestLine(text: string, line: number, endpoint: string): InputItem["item"] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError("INVALID_JSON", `line ${line} is not valid JSON`, { details: { line, reason: (err as Error).message.slice(0, 200), errors: [{ path: "/input_file_id", message: `line ${line} is not valid JSON` }] } });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw lineError(line, `line ${line} must be an object {custom_id, method, url, body}`);
  const { custom_id, method, url, body, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw lineError(line, `line ${line}: ${extra.slice(0, 40)} is not a field of a batch request line {custom_id, method, url, body}`);
  if (typeof custom_id !== "string" || custom_id === "") throw lineError(line, `line ${line}: custom_id must be a non-empty string`);
  if (method !== "POST") throw lineError(line, `line ${line}: method must be "POST"`);
  if (url !== endpoint) throw lineError(line, `line ${line}: url must be "${endpoint}", the batch's endpoint (got ${JSON.stringify(url)?.slice(0, 80)})`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw lineError(line, `line ${line}: body must be a Chat Completions request object`);
  if ((body as { stream?: unknown }).stream === true) throw lineError(line, `line ${line}: body.stream cannot be true in a batch`);
  return { custom_id, type: "chat", body: body as Record<string, unknown> };
}

function lineError(line: number, message: string, path = "/input_file_id"): AppError {
  return new AppError("INVALID_REQUEST", message, { details: { line, errors: [{ path, message }] } });
}
