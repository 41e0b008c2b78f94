import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasWrk, REPO_ROOT, runClosedLoop, runWrk } from "../src/index.js";

/**
 * The steady rate the in-flight cell reports: answers per second after a warm-up. Against a server that answers
 * every request 250 ms after it arrives, 20 connections settle at 80 answers a second; what a whole-run rate would
 * count of the empty first 250 ms is left out.
 */
let server: Server;
let url: string;
const DELAY_MS = 250;
const CONNECTIONS = 20;
const EXPECTED = CONNECTIONS / (DELAY_MS / 1000);

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end('{"ok":true}'), DELAY_MS));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("steady rate after a warm-up", () => {
  it.skipIf(!hasWrk())("wrk's report.lua counts whole seconds after WRK_STEADY_AFTER_S", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmq-steady-"));
    try {
      writeFileSync(join(dir, "body.json"), "{}");
      const r = await runWrk({ url: `${url}/x`, connections: CONNECTIONS, durationS: 5, steadyAfterS: 1, script: "load/wrk/post_json.lua", headers: {}, env: { WRK_BODY_FILE: join(dir, "body.json") }, cwd: REPO_ROOT });
      expect(r.steady_s).toBeGreaterThanOrEqual(2);
      expect(r.steady_s).toBeLessThanOrEqual(4);
      expect(r.steady_rps).toBeGreaterThan(EXPECTED * 0.6);
      expect(r.steady_rps).toBeLessThan(EXPECTED * 1.2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the built-in generator reports the same kind of figure", async () => {
    const r = await runClosedLoop({ origin: url, connections: CONNECTIONS, durationS: 3, steadyAfterS: 1, headers: {}, next: () => ({ path: "/x", body: "{}" }) });
    expect(r.steady_s).toBe(2);
    expect(r.steady_rps).toBeGreaterThan(EXPECTED * 0.6);
    expect(r.steady_rps).toBeLessThan(EXPECTED * 1.2);
    // Without a warm-up figure asked for, none is reported.
    const plain = await runClosedLoop({ origin: url, connections: 2, durationS: 0.6, headers: {}, next: () => ({ path: "/x", body: "{}" }) });
    expect(plain.steady_rps).toBeUndefined();
  });
});
