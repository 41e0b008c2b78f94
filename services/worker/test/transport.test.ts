import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "../src/index.js";
import { JOB_SIGNAL, jobSignalOptions } from "../src/providers/transport.js";

/** The thin fetch keeps the parts of fetch's contract the SDKs rely on. */
let server: Server;
let base: string;
const transport = createTransport({ connections: 4, timeoutMs: 5_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url === "/json") {
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.writeHead(201, { "content-type": "application/json", "X-Request-Id": "r1" });
        res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }));
      } else if (req.url === "/sse") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: one\n\n");
        setTimeout(() => res.end("data: two\n\n"), 50);
      } else if (req.url === "/empty") {
        res.writeHead(204);
        res.end();
      } else {
        // /slow: never answers until the client gives up
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await transport.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("the undici transport", () => {
  it("sends method, headers and body and resolves to what the SDKs read of a Response", async () => {
    const res = await transport.fetch(`${base}/json`, { method: "post", headers: new Headers({ Authorization: "Bearer k" }), body: '{"x":1}' });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${base}/json`);
    expect(res.headers.get("X-Request-ID")).toBe("r1");
    expect(res.headers.has("content-type")).toBe(true);
    expect(res.headers.get("missing")).toBeNull();
    expect(res.headers.get("set-cookie")).toBe("a=1, b=2");
    expect(Object.fromEntries(res.headers.entries())).toMatchObject({ "x-request-id": "r1", "content-type": "application/json" });
    const seen: string[] = [];
    res.headers.forEach((_v, name) => seen.push(name));
    expect(seen).toContain("x-request-id");
    expect(res.body).toBeNull();
    expect(await res.clone().text()).toBe(JSON.stringify({ method: "POST", body: '{"x":1}', auth: "Bearer k" }));
    expect(await res.json()).toEqual({ method: "POST", body: '{"x":1}', auth: "Bearer k" });
  });

  it("passes an event stream through as it arrives", async () => {
    const res = await transport.fetch(`${base}/sse`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("one");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toContain("two");
  });

  it("answers a 204 with a null body", async () => {
    const res = await transport.fetch(`${base}/empty`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });

  it("rejects with an AbortError when the caller's signal aborts", async () => {
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    await expect(transport.fetch(`${base}/slow`, { signal: ctrl.signal })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects with an AbortError when the job's signal (JOB_SIGNAL) aborts, beside the SDK's own", async () => {
    const sdk = new AbortController();
    const job = new AbortController();
    setTimeout(() => job.abort(), 50);
    const init = { signal: sdk.signal, ...jobSignalOptions(job.signal).fetchOptions };
    await expect(transport.fetch(`${base}/slow`, init)).rejects.toMatchObject({ name: "AbortError" });
    expect(getEventListeners(sdk.signal, "abort")).toHaveLength(0);
  });

  it("takes its listeners off both signals once an answer is read, and keeps them while a stream is open", async () => {
    const sdk = new AbortController();
    const job = new AbortController();
    const init = { signal: sdk.signal, [JOB_SIGNAL]: job.signal } as RequestInit;
    await (await transport.fetch(`${base}/json`, { ...init, method: "POST", body: "x" })).text();
    expect(getEventListeners(sdk.signal, "abort")).toHaveLength(0);
    expect(getEventListeners(job.signal, "abort")).toHaveLength(0);
    const res = await transport.fetch(`${base}/sse`, init);
    expect(getEventListeners(job.signal, "abort")).toHaveLength(1);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    job.abort();
    await expect((async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read());
    })()).rejects.toBeDefined();
  });

  it("hands a Request object to undici's fetch on the same pool", async () => {
    const res = await transport.fetch(new Request(`${base}/json`, { method: "PUT", body: "b" }));
    expect(await res.json()).toMatchObject({ method: "PUT", body: "b" });
  });
});
