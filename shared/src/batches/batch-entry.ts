import type { JobPayload } from "../contracts/job-catalog.js";

/**
 * A pending item as stored in its batch's `pending:<provider>` list: `index \n JSON(custom_id) \n JSON(payload)`.
 * The first two fields are readable without a JSON parser, so the cancel script can write the cancelled
 * lines for thousands of items without decoding their payloads. JSON never holds a raw newline, so the
 * first two newlines always end the first two fields.
 */
export interface BatchEntry {
  index: number;
  customId: string;
  payload: JobPayload;
}

export function encodeBatchEntry(index: number, customId: string, payload: JobPayload): string {
  return `${index}\n${JSON.stringify(customId)}\n${JSON.stringify(payload)}`;
}

export function decodeBatchEntry(entry: string): BatchEntry {
  const a = entry.indexOf("\n");
  const b = entry.indexOf("\n", a + 1);
  if (a < 1 || b < 0) throw new Error("not a batch entry");
  return {
    index: Number(entry.slice(0, a)),
    customId: JSON.parse(entry.slice(a + 1, b)) as string,
    payload: JSON.parse(entry.slice(b + 1)) as JobPayload,
  };
}
