import { Readable } from "node:stream";
import { Agent, fetch as undiciFetch, request } from "undici";

/**
 * The one place that decides how llmq talks HTTP to providers. Every SDK client gets its `fetch` from here.
 *
 * Why a custom fetch: the SDKs' default (WHATWG) fetch costs ~590 µs of CPU per call on Node 24 and was the
 * worker's largest cost; `undici.request` costs ~90 µs. `transportFetch` is a thin fetch on `undici.request`
 * that keeps fetch's contract where the SDKs rely on it:
 * - it resolves to a real `Response` (status, headers, text/json, body);
 * - JSON bodies are read before it resolves, so the SDK's own request timeout covers the whole body too;
 *   `text/event-stream` bodies are passed through as a web stream, so streaming still streams;
 * - the caller's `AbortSignal` aborts the request at any point (undici rejects with an AbortError);
 * - a body it does not send as is (a stream, a form) goes to `undici.fetch` on the same Agent; a `Request`
 *   object is unpacked into URL and init first.
 * The Agent keeps connections alive and pools them per origin, sized for the provider's worker concurrency.
 */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** Connections per origin: the provider queue's concurrency. */
  connections: number;
  /** The SDK timeout; the socket-level timeouts sit just above it, so a dead socket never outlives a call. */
  timeoutMs: number;
}

export interface Transport {
  fetch: FetchLike;
  close(): Promise<void>;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function createTransport(opts: TransportOptions): Transport {
  const agent = new Agent({
    connections: Math.max(1, opts.connections),
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: opts.timeoutMs + 1_000,
    bodyTimeout: opts.timeoutMs + 1_000,
  });

  const fallback = (input: string | URL, init: RequestInit): Promise<Response> =>
    undiciFetch(input, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;

  const transportFetch: FetchLike = async (input, init = {}) => {
    if (input instanceof Request) {
      // Node's global Request is not undici 8's: unpack it into a URL and init.
      const buffered = input.body === null ? undefined : new Uint8Array(await input.arrayBuffer());
      return transportFetch(input.url, { method: input.method, headers: input.headers, signal: input.signal, ...init, ...(buffered ? { body: buffered } : {}) });
    }
    const body = init.body;
    if (body != null && typeof body !== "string" && !(body instanceof Uint8Array)) return fallback(input, init);
    const method = (init.method ?? "GET").toUpperCase();
    const res = await request(typeof input === "string" ? input : input.href, {
      dispatcher: agent,
      method: method as "GET",
      headers: headerRecord(init.headers),
      body: body ?? null,
      signal: init.signal ?? null,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    const status = res.statusCode;
    if (NULL_BODY_STATUS.has(status) || method === "HEAD") {
      await res.body.dump();
      return new Response(null, { status, statusText: res.statusText, headers });
    }
    if ((headers.get("content-type") ?? "").includes("text/event-stream")) {
      return new Response(Readable.toWeb(res.body) as ReadableStream, { status, statusText: res.statusText, headers });
    }
    return new Response(await res.body.bytes(), { status, statusText: res.statusText, headers });
  };

  let closed: Promise<void> | undefined;
  return {
    fetch: transportFetch,
    close: () => (closed ??= agent.close().catch(() => agent.destroy())),
  };
}

function headerRecord(init: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === undefined || init === null) return out;
  if (init instanceof Headers || Array.isArray(init)) {
    for (const [k, v] of init as Iterable<[string, string]>) out[k.toLowerCase()] = v;
    return out;
  }
  for (const [k, v] of Object.entries(init)) if (v !== undefined && v !== null) out[k.toLowerCase()] = String(v);
  return out;
}
