import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createKeys, createLogger, encodeStreamDelta, type ChatResult, type StreamDelta } from "@llmq/shared";
import { deletePrefix, testPrefix } from "@llmq/shared/testing";
import { ChatRelay, type FinalOutcome } from "../../src/compat/chat-relay.js";
import { StreamReader } from "../../src/compat/stream-reader.js";

/**
 * The relay between a job's Redis Stream and its client, with the stream written by hand: what a client
 * receives when an attempt is retried after streaming part of its answer, and when the retry answers differently.
 */
const keys = createKeys(testPrefix("compat-relay"));
let redis: Redis;
let reader: StreamReader;
let server: Server;
let url: string;
const outcomes = new Map<string, Promise<FinalOutcome>>();
const settle = new Map<string, (o: FinalOutcome) => void>();

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  reader = new StreamReader(() => new Redis(inject("redisUrl"), { maxRetriesPerRequest: null }), redis, createLogger({ service: "test", level: "silent" }));
  const app = express();
  app.get("/:dialect/:id", async (req, res) => {
    const { dialect, id } = req.params as { dialect: "openai" | "anthropic"; id: string };
    const relay = new ChatRelay(dialect, res, reader, "req-1", false);
    relay.begin(id, "gpt-4o", keys.stream(id), Date.now());
    await relay.finish(await (outcomes.get(id) as Promise<FinalOutcome>));
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  reader?.close();
  await new Promise((r) => server?.close(r));
  await deletePrefix(redis, keys.prefix);
  await redis?.quit();
});

function job(id: string): void {
  outcomes.set(id, new Promise((resolve) => settle.set(id, resolve)));
}

async function write(id: string, attempt: number, ...deltas: StreamDelta[]): Promise<void> {
  for (const d of deltas) await redis.xadd(keys.stream(id), "*", ...encodeStreamDelta(attempt, d));
}

function completed(id: string, content: string): FinalOutcome {
  const result = { id, type: "chat", model: "gpt-4o", provider: "openai", simulated: true, finish_reason: "stop", usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 }, attempts: 2, repairs: 0, cached: false, timings: { queued_ms: 0, provider_ms: 1, validate_ms: 0, total_ms: 1 }, output: content, message: { role: "assistant", content } } as ChatResult;
  return { status: "completed", result };
}

function texts(body: string): { text: string; errors: string[]; done: boolean } {
  let text = "";
  const errors: string[] = [];
  for (const event of body.split("\n\n")) {
    const data = event.split("\n").find((l) => l.startsWith("data: "))?.slice(6);
    if (data === undefined || data === "[DONE]") continue;
    const parsed = JSON.parse(data) as { error?: { code: string }; choices?: Array<{ delta: { content?: string } }>; type?: string; delta?: { text?: string } };
    if (parsed.error !== undefined) errors.push(parsed.error.code);
    text += parsed.choices?.[0]?.delta.content ?? (parsed.type === "content_block_delta" ? (parsed.delta?.text ?? "") : "");
  }
  return { text, errors, done: body.includes("data: [DONE]") || body.includes("event: message_stop") };
}

describe("the stream relay", () => {
  it("relays pieces as they are written, and a retried attempt's repeat of them is not sent twice", async () => {
    const id = `relay-retry-${Date.now()}`;
    job(id);
    await write(id, 1, { text: "Hello" }, { text: " wor" });
    const res = await fetch(`${url}/openai/${id}`);
    const body = res.body?.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes(" wor")) seen += decoder.decode((await body?.read())?.value);
    // Attempt 1 failed there; attempt 2 streams the same answer from its start, then finishes it.
    await write(id, 2, { text: "Hel" }, { text: "lo wor" }, { text: "ld" });
    settle.get(id)?.(completed(id, "Hello world!"));
    for (;;) {
      const { value, done } = (await body?.read()) ?? { done: true, value: undefined };
      if (done) break;
      seen += decoder.decode(value);
    }
    const got = texts(seen);
    expect(got.errors).toEqual([]);
    // "!" never came through the stream: the final record supplies it.
    expect(got.text).toBe("Hello world!");
    expect(got.done).toBe(true);
  });

  it("ends in an error when a retried attempt answers differently from what was sent", async () => {
    const id = `relay-diverge-${Date.now()}`;
    job(id);
    await write(id, 1, { text: "Paris is" });
    await write(id, 2, { text: "Lyon is" });
    settle.get(id)?.(completed(id, "Lyon is a city."));
    for (const dialect of ["anthropic", "openai"]) {
      const got = texts(await (await fetch(`${url}/${dialect}/${id}`)).text());
      expect(got.text, dialect).toBe("Paris is");
      expect(got.errors, dialect).toEqual(["PROVIDER_ERROR"]);
      expect(got.done, dialect).toBe(false);
    }
  });

  it("ends a failed job's stream with an error event in the dialect's shape", async () => {
    const id = `relay-failed-${Date.now()}`;
    job(id);
    await write(id, 1, { text: "Par" });
    settle.get(id)?.({ status: "failed", error: { code: "PROVIDER_ERROR", message: "upstream 500" } });
    const body = await (await fetch(`${url}/anthropic/${id}`)).text();
    expect(body).toContain("event: error");
    expect(body).toContain('"type":"api_error"');
    expect(body).not.toContain("message_stop");
  });

  it("serves many streams over one blocking connection, waking it for each new reader", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `relay-many-${Date.now()}-${i}`);
    for (const id of ids) job(id);
    const bodies = ids.map((id) => fetch(`${url}/openai/${id}`).then((r) => r.text()));
    await new Promise((r) => setTimeout(r, 50));
    for (const id of ids) await write(id, 1, { text: `answer ${id}` });
    for (const id of ids) settle.get(id)?.(completed(id, `answer ${id}`));
    const got = await Promise.all(bodies);
    got.forEach((b, i) => expect(texts(b).text).toBe(`answer ${ids[i]}`));
    const clients = (await redis.client("LIST")) as string;
    expect(clients.split("\n").filter((l) => / cmd=xread/.test(l)).length).toBeLessThanOrEqual(1 + 5);
  });
});
