import { Readable } from "node:stream";
import { Agent, fetch as undiciFetch, request } from "undici";

/**
 * The one place that decides how llmq talks HTTP to providers. Every SDK client gets its `fetch` from here.
 *
 * Why a custom fetch: the SDKs' default (WHATWG) fetch costs ~590 µs of CPU per call on Node 24 and was the
 * worker's largest cost; `undici.request` costs ~90 µs. `transportFetch` is a thin fetch on `undici.request`
 * that keeps fetch's contract where the SDKs rely on it:
 * - it resolves to what the SDKs read of a `Response`: `ok`, `status`, `statusText`, `url`, `headers` (get, has,
 *   entries, forEach, iteration) and `text()`/`json()`/`arrayBuffer()`. A `text/event-stream` answer is a real
 *   `Response` whose body is passed through as a web stream, so streaming still streams; every other answer is
 *   read whole before it resolves (so the SDK's own request timeout covers the body too) into a
 *   BufferedResponse, with `body: null` as the SDKs' non-streaming paths expect nothing else of it: building a
 *   WHATWG Response and Headers for it, then reading it back through a web stream, cost ~100 µs per call;
 * - the SDK's `AbortSignal` (its timeout) aborts the request at any point (undici rejects with an AbortError),
 *   and so does the signal an adapter hands over in `fetchOptions` under JOB_SIGNAL (jobSignalOptions): the
 *   job's own signal, aborted when a worker shuts down. Passing it there instead of as the SDK's `signal`
 *   spares each call the SDK's weak references and finalizers that tie a caller's signal to its request;
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

/** The fetchOptions key under which an adapter hands the transport the job's AbortSignal. */
export const JOB_SIGNAL = "llmqJobSignal";

/**
 * Request options for an SDK call that the job's signal aborts (see JOB_SIGNAL). Typed as carrying nothing:
 * each SDK types `fetchOptions` with its own copy of RequestInit, and the key is the transport's alone.
 */
export function jobSignalOptions(signal: AbortSignal): { fetchOptions: Record<never, never> } {
  return { fetchOptions: { [JOB_SIGNAL]: signal } };
}

/** Response headers as the SDKs read them: lower-cased names, repeated values joined by ", " like fetch's. */
export class ResponseHeaders {
  private readonly map = new Map<string, string>();

  constructor(raw: Record<string, string | string[] | undefined>) {
    for (const name in raw) {
      const value = raw[name];
      if (value !== undefined) this.map.set(name.toLowerCase(), Array.isArray(value) ? value.join(", ") : value);
    }
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<string> {
    return this.map.values();
  }

  forEach(cb: (value: string, name: string, headers: ResponseHeaders) => void): void {
    for (const [name, value] of this.map) cb(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** A whole answer already read: the part of fetch's Response the SDKs use for non-streaming calls. */
export class BufferedResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = "basic";
  readonly body = null;
  bodyUsed = false;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    readonly url: string,
    private readonly data: Uint8Array,
  ) {
    this.ok = status >= 200 && status <= 299;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return DECODER.decode(this.data);
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.data.slice().buffer;
  }

  async bytes(): Promise<Uint8Array> {
    this.bodyUsed = true;
    return this.data.slice();
  }

  clone(): BufferedResponse {
    return new BufferedResponse(this.status, this.statusText, this.headers, this.url, this.data);
  }
}

const DECODER = new TextDecoder();

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
    const url = typeof input === "string" ? input : input.href;
    const jobSignal = (init as Record<string, unknown>)[JOB_SIGNAL] as AbortSignal | undefined;
    const abort = oneSignal(init.signal ?? undefined, jobSignal);
    let streaming = false;
    try {
      const res = await request(url, {
        dispatcher: agent,
        method: method as "GET",
        headers: headerRecord(init.headers),
        body: body ?? null,
        signal: abort.signal ?? null,
      });
      const status = res.statusCode;
      const contentType = res.headers["content-type"];
      if ((typeof contentType === "string" ? contentType : "").includes("text/event-stream")) {
        // The signals must still abort the body as it streams: let go of them once it has ended.
        streaming = true;
        res.body.once("close", abort.release);
        return new Response(Readable.toWeb(res.body) as ReadableStream, { status, statusText: res.statusText, headers: webHeaders(res.headers) });
      }
      if (NULL_BODY_STATUS.has(status) || method === "HEAD") {
        await res.body.dump();
        return new BufferedResponse(status, res.statusText, new ResponseHeaders(res.headers), url, EMPTY) as unknown as Response;
      }
      return new BufferedResponse(status, res.statusText, new ResponseHeaders(res.headers), url, await res.body.bytes()) as unknown as Response;
    } finally {
      if (!streaming) abort.release();
    }
  };

  let closed: Promise<void> | undefined;
  return {
    fetch: transportFetch,
    close: () => (closed ??= agent.close().catch(() => agent.destroy())),
  };
}

const EMPTY = new Uint8Array(0);

function webHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

/**
 * One signal for undici from the SDK's and the job's. With only one of them there is nothing to build; with
 * both, a controller of the request's own, whose listeners are taken off again once the request is over.
 */
function oneSignal(sdk: AbortSignal | undefined, job: AbortSignal | undefined): { signal: AbortSignal | undefined; release(): void } {
  if (job === undefined || sdk === undefined) return { signal: sdk ?? job, release: noop };
  const controller = new AbortController();
  if (sdk.aborted || job.aborted) {
    controller.abort((sdk.aborted ? sdk : job).reason);
    return { signal: controller.signal, release: noop };
  }
  const onSdk = (): void => controller.abort(sdk.reason);
  const onJob = (): void => controller.abort(job.reason);
  sdk.addEventListener("abort", onSdk, { once: true });
  job.addEventListener("abort", onJob, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      sdk.removeEventListener("abort", onSdk);
      job.removeEventListener("abort", onJob);
    },
  };
}

const noop = (): void => undefined;

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
