import { ApiError, ConnectionError } from "./errors.js";
import type { Settings } from "./settings.js";

/**
 * llmq's HTTP API as the command line uses it: JSON in and out, errors as ApiError with llmq's stable code, no
 * answer as ConnectionError. Every request carries the key in X-API-Key; nothing here logs it.
 */
export class Api {
  constructor(private readonly settings: Settings) {}

  get url(): string {
    return this.settings.url;
  }

  async json<T>(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
    const res = await this.send(method, path, body, timeoutMs);
    return (await res.json()) as T;
  }

  /** The raw answer of a 2xx, for streaming (results). */
  async stream(path: string): Promise<Response> {
    return this.send("GET", path, undefined, 0);
  }

  private async send(method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    const headers: Record<string, string> = { "x-api-key": this.settings.apiKey, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(this.settings.url + path, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(timeoutMs > 0 && { signal: AbortSignal.timeout(timeoutMs) }),
      });
    } catch (err) {
      throw new ConnectionError(`cannot reach llmq at ${this.settings.url}: ${reason(err)}`);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let error: { code?: string; message?: string; details?: Record<string, unknown> } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      // not llmq's error shape: a proxy, or not llmq at all
    }
    throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? (text.slice(0, 200) || res.statusText), error?.details ?? {}, res.headers);
  }
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code !== undefined) return cause.code;
  if ((err as Error).name === "TimeoutError") return "no answer in time";
  return cause?.message ?? (err as Error).message;
}
