import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { processEnv } from "@llmq/shared";
import { freePort, REPO_ROOT, terminate } from "../stack.js";

/**
 * The Portkey AI gateway (npm `@portkey-ai/gateway`, a dev dependency of load/), the stateless proxy a user
 * might put in front of a provider instead of a queue: its own Node process, on a free loopback port, forwarding
 * `POST /v1/chat/completions` to the bench's simulator as an OpenAI provider with a custom host.
 */
export interface PortkeyGateway {
  url: string;
  pid: number | undefined;
  /** The headers that route a request through it to the simulator. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function portkeyScript(): string {
  return join(REPO_ROOT, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
}

export async function startPortkey(simulatorUrl: string): Promise<PortkeyGateway> {
  const script = portkeyScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm ci`);
  const port = await freePort();
  const preload = pathToFileURL(join(REPO_ROOT, "load", "dist", "baseline", "loopback-only.js")).href;
  // NODE_ENV=production and --headless: no web UI, no log streaming routes.
  // Without REDIS_CONNECTION_STRING it keeps no Redis connection: a stateless proxy, as it is usually run.
  const env = { ...processEnv(), NODE_ENV: "production", PORT: String(port), REDIS_CONNECTION_STRING: undefined };
  const proc = spawn(process.execPath, ["--import", preload, script, `--port=${port}`, "--headless"], { cwd: REPO_ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.setEncoding("utf8").on("data", (s: string) => (err = (err + s).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const headers = { "x-portkey-provider": "openai", "x-portkey-custom-host": `${simulatorUrl}/v1`, Authorization: "Bearer bench", "Content-Type": "application/json" };
  const stop = (): Promise<void> => terminate(proc, 5000);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ping" }], max_tokens: 5 }), signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) {
      await stop();
      throw new Error(`the Portkey gateway did not start or does not reach the simulator: ${err.slice(-500)}`);
    }
    await sleep(200);
  }
  return { url, pid: proc.pid, headers, stop };
}
