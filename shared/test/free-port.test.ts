import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../src/testing/index.js";

/**
 * freePort picks below the kernel's ephemeral range, so no outgoing connection can take the port between the
 * check and the service's listen.
 */
const RANGE = "/proc/sys/net/ipv4/ip_local_port_range";

describe("freePort", () => {
  it("gives ports a listener can take, below the ephemeral range where the kernel says what it is", async () => {
    const low = existsSync(RANGE) ? Number(readFileSync(RANGE, "utf8").trim().split(/\s+/)[0]) : undefined;
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThan(1024);
      if (low !== undefined && low > 12_100) expect(port).toBeLessThan(low);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise((r) => srv.close(r));
    }
  });
});
