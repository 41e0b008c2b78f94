import { hash } from "node:crypto";

/**
 * JSON with object keys sorted, so equal schemas hash equally whatever their key order. Schema hashes are
 * stored (registered schemas, job payloads): the output must not change, byte for byte.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
