// The simulator's HTTP server: routing, auth, stats endpoints and lifecycle, on bare node:http.
// It is the ceiling llmq's throughput is compared against, so the request path does no logging,
// no middleware and, with latency 0, no timers. Invariant: close() leaves nothing behind —
// pending timers are cleared and every socket, including requests held by a `hang` fault, is
// destroyed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleChat, type ChatContext } from "./chat-handler.js";
import { parseAnthropicRequest } from "./anthropic-request.js";
import { createFaultPlan } from "./fault-plan.js";
import { parseFaults } from "./faults.js";
import { parseLimits, type LimitsSpec } from "./rate-limit-spec.js";
import { createRateLimiter, type LimitsSnapshot } from "./rate-limits.js";
import { ANTHROPIC_MODEL_LIST, GROQ_MODEL_LIST, modelObject, OPENAI_MODEL_LIST } from "./models.js";
import { anthropicError, missingKeyReply, openaiError, problemReply, tooLargeReply } from "./provider-errors.js";
import { createScheduler, sendJson, sendReply } from "./respond.js";
import { hash32 } from "./rng.js";
import type { Provider } from "./sim-request.js";
import { createStatsBook, type SimStats } from "./stats.js";

export interface SimulatorOptions {
  /** Fixed delay before every provider reply, and before a stream's first event. Default 0. */
  latencyMs?: number;
  /** Output speed: adds output_tokens / tokensPerS seconds, spread over a stream's events. Default null (instant). */
  tokensPerS?: number | null;
  /** Fault rates, e.g. "429:0.2,500:0.05,hang:0.01" (see faults.ts). Default "". */
  faults?: string;
  /**
   * Per-model rate limits, e.g. "gpt-4=rpm:6000,tpm:600000;*=rpm:60", or the object parseLimits
   * returns (see rate-limit-spec.ts). Default "": no limits, no rate-limit headers.
   */
  limits?: string | LimitsSpec;
  /** The clock rate limits refill by, in ms (tests pass a fake one). Default Date.now. */
  now?: () => number;
  /** Seed for answers and fault rolls. Default "llmq". */
  seed?: string;
  /** Default port and host for listen(). Defaults 0 (any free port) and 127.0.0.1. */
  port?: number;
  host?: string;
  /** Retry-after announced by 429 faults without an explicit `@delay`. Default 1000. */
  retryAfterMs?: number;
  /** Larger request bodies get a 413. Default 32 MiB. */
  maxBodyBytes?: number;
}

export interface Simulator {
  server: Server;
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
  stats(): SimStats;
  reset(): void;
}

const KEEP_ALIVE_MS = 65_000;
const NO_LIMITS: LimitsSnapshot = { limits: {}, rate_limited: 0 };

function hasKey(req: IncomingMessage): boolean {
  const apiKey = req.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey.trim() !== "") return true;
  const auth = req.headers.authorization;
  return typeof auth === "string" && /^Bearer\s+\S/i.test(auth);
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const seed = options.seed ?? "llmq";
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const stats = createStatsBook();
  const scheduler = createScheduler();
  const plan = createFaultPlan(parseFaults(options.faults ?? ""), seed);
  const limits = createRateLimiter(parseLimits(options.limits ?? ""), options.now);
  const hanging = new Set<ServerResponse>();
  const ctx: ChatContext = {
    latencyMs: Math.max(0, options.latencyMs ?? 0),
    tokensPerS: options.tokensPerS && options.tokensPerS > 0 ? options.tokensPerS : null,
    retryAfterMs: options.retryAfterMs ?? 1000,
    seedHash: hash32(seed),
    plan,
    limits,
    stats,
    scheduler,
    hang(res) {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
    },
  };

  /** Reads the body, then answers; bodies over the limit are drained and refused. */
  function withBody(req: IncomingMessage, res: ServerResponse, provider: Provider, then: (raw: string) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > maxBody) {
        stats.status(413);
        sendReply(res, tooLargeReply(provider));
        return;
      }
      then(chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8"));
    });
  }

  function notFound(req: IncomingMessage, res: ServerResponse, path: string): void {
    const reply = path.startsWith("/v1/messages")
      ? anthropicError(404, "not_found_error", `Not found: ${req.method} ${path}`)
      : openaiError(404, `Unknown request URL: ${req.method} ${path}. Please check the URL for typos.`, "invalid_request_error", "unknown_url");
    sendReply(res, reply);
  }

  function simRoute(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (path === "/__sim/health" && req.method === "GET") sendJson(res, 200, '{"status":"ok"}');
    else if (path === "/__sim/stats" && req.method === "GET") sendJson(res, 200, JSON.stringify(snapshot()));
    else if (path === "/__sim/reset" && req.method === "POST") { reset(); sendJson(res, 200, '{"reset":true}'); }
    else notFound(req, res, path);
  }

  function providerRoute(req: IncomingMessage, res: ServerResponse, path: string): void {
    const method = req.method;
    const anthropicHeaders = req.headers["anthropic-version"] !== undefined || req.headers["x-api-key"] !== undefined;
    let provider: Provider;
    let route: string;
    if (method === "POST" && path === "/v1/chat/completions") [provider, route] = ["openai", "chat_completions"];
    else if (method === "POST" && path === "/openai/v1/chat/completions") [provider, route] = ["groq", "chat_completions"];
    else if (method === "POST" && path === "/v1/messages") [provider, route] = ["anthropic", "messages"];
    else if (method === "POST" && path === "/v1/messages/count_tokens") [provider, route] = ["anthropic", "count_tokens"];
    else if (method === "GET" && (path === "/v1/models" || path.startsWith("/v1/models/"))) {
      [provider, route] = [anthropicHeaders ? "anthropic" : "openai", "models"];
    } else if (method === "GET" && (path === "/openai/v1/models" || path.startsWith("/openai/v1/models/"))) {
      [provider, route] = ["groq", "models"];
    } else {
      notFound(req, res, path);
      return;
    }
    stats.request(provider, `${provider}.${route}`);
    if (!hasKey(req)) {
      stats.status(401);
      sendReply(res, missingKeyReply(provider));
      return;
    }
    if (provider === "anthropic" && !req.headers["anthropic-version"]) {
      // Checked loosely: any value is accepted, only its absence is refused, as the real API does.
      stats.status(400);
      sendReply(res, anthropicError(400, "invalid_request_error", "anthropic-version: header is required"));
      return;
    }
    if (route === "models") {
      stats.status(200);
      const id = path.slice(path.indexOf("/models") + "/models".length + 1);
      if (id) sendJson(res, 200, JSON.stringify(modelObject(provider, decodeURIComponent(id))));
      else sendJson(res, 200, provider === "anthropic" ? ANTHROPIC_MODEL_LIST : provider === "groq" ? GROQ_MODEL_LIST : OPENAI_MODEL_LIST);
      return;
    }
    if (route === "count_tokens") {
      withBody(req, res, provider, (raw) => countTokens(res, raw));
      return;
    }
    withBody(req, res, provider, (raw) => handleChat(ctx, provider, raw, res));
  }

  function countTokens(res: ServerResponse, raw: string): void {
    let body: unknown;
    try { body = JSON.parse(raw); } catch { body = undefined; }
    // count_tokens takes no max_tokens; supply one so the Messages parser accepts the body.
    const parsed = parseAnthropicRequest(typeof body === "object" && body !== null ? { max_tokens: 1, ...body } : body);
    if (!parsed.ok) {
      stats.status(400);
      sendReply(res, problemReply("anthropic", parsed.problem));
      return;
    }
    stats.status(200);
    sendJson(res, 200, JSON.stringify({ input_tokens: parsed.request.promptTokens }));
  }

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path.startsWith("/__sim/")) simRoute(req, res, path);
    else providerRoute(req, res, path);
  });
  // Benchmarks drive the simulator over keep-alive connections; outlive typical client idle timeouts.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;

  function snapshot(): SimStats {
    return stats.snapshot(hanging.size, limits?.snapshot() ?? NO_LIMITS);
  }

  function reset(): void {
    stats.reset();
    plan.reset();
    limits?.reset();
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      scheduler.clearAll();
      for (const res of hanging) res.destroy();
      hanging.clear();
      if (!server.listening) { resolve(); return; }
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }

  function listen(port = options.port ?? 0, host = options.host ?? "127.0.0.1"): Promise<{ port: number; url: string }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        const actual = (server.address() as AddressInfo).port;
        resolve({ port: actual, url: urlOf(host, actual) });
      });
    });
  }

  return { server, listen, close, stats: snapshot, reset };
}
