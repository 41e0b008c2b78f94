import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasWrk, REPO_ROOT, runWrk } from "../src/index.js";

/**
 * load/wrk/structured_new_schema.lua, run by wrk against a server that keeps the bodies it is sent: a new schema
 * on every request by default, one schema on every request with WRK_SCHEMA_TAG, and in both cases a prompt of its
 * own per request (so llmq's result cache never answers the bench's structured cells).
 */
interface Body {
  prompt: string;
  schema: { properties: Record<string, unknown>; required: string[] };
}
let server: Server;
let url: string;
let bodies: Body[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // Anything but a JSON body (wrk's default GET, say) is kept as null, and fails the checks below.
      const text = Buffer.concat(chunks).toString("utf8");
      bodies.push(req.method === "POST" && text !== "" ? (JSON.parse(text) as Body) : (null as unknown as Body));
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function send(env: Record<string, string>): Promise<Body[]> {
  bodies = [];
  await runWrk({ url: `${url}/api/v1/structured`, connections: 2, durationS: 1, script: "load/wrk/structured_new_schema.lua", headers: {}, env: { WRK_MODELS: "gpt-4o-mini", ...env }, cwd: REPO_ROOT });
  return bodies;
}

const schemaText = (b: Body): string => JSON.stringify(b.schema);

describe.skipIf(!hasWrk())("the structured wrk script", () => {
  it("sends a schema never seen before, and a prompt of its own, on every request", async () => {
    const sent = await send({});
    expect(sent.length).toBeGreaterThan(20);
    expect(new Set(sent.map(schemaText)).size).toBe(sent.length);
    expect(new Set(sent.map((b) => b.prompt)).size).toBe(sent.length);
    for (const b of sent) expect(Object.keys(b.schema.properties).every((k) => b.prompt.includes(k.slice(k.indexOf("_") + 1)))).toBe(true);
  });

  it("with WRK_SCHEMA_TAG sends one schema, named by the tag, and still a prompt of its own per request", async () => {
    const sent = await send({ WRK_SCHEMA_TAG: "repeated" });
    expect(sent.length).toBeGreaterThan(20);
    expect(new Set(sent.map(schemaText)).size).toBe(1);
    expect(Object.keys(sent[0]!.schema.properties)).toEqual(["name_repeated", "age_repeated", "tags_repeated", "address_repeated"]);
    expect(sent[0]!.schema.required).toEqual(["name_repeated", "age_repeated"]);
    expect(new Set(sent.map((b) => b.prompt)).size).toBe(sent.length);
  });

  it("refuses a tag that would not make a property name: wrk stops before it sends anything", async () => {
    bodies = [];
    await expect(send({ WRK_SCHEMA_TAG: 'x"y' })).rejects.toThrow(/WRK_SCHEMA_TAG takes letters, digits and _ only/);
    expect(bodies).toEqual([]);
  });
});
