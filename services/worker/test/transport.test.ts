import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "../src/index.js";

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
        res.writeHead(201, { "content-type": "application/json", "x-request-id": "r1" });
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
  it("sends method, headers and body and resolves to a real Response", async () => {
    const res = await transport.fetch(`${base}/json`, { method: "post", headers: new Headers({ Authorization: "Bearer k" }), body: '{"x":1}' });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get("x-request-id")).toBe("r1");
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

  it("hands a Request object to undici's fetch on the same pool", async () => {
    const res = await transport.fetch(new Request(`${base}/json`, { method: "PUT", body: "b" }));
    expect(await res.json()).toMatchObject({ method: "PUT", body: "b" });
  });
});
