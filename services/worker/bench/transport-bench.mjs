// Client CPU per provider call: the OpenAI SDK with its default fetch, with undici.fetch on a tuned Agent,
// and with llmq's transport (undici.request). The simulator runs in a child process so its CPU is not
// counted. Prints figures; asserts nothing. Run after `npm run build`:
//   node services/worker/bench/transport-bench.mjs [calls=3000] [concurrency=16]
import { spawn } from "node:child_process";
import { once } from "node:events";
import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
import { createTransport } from "../dist/providers/transport.js";

const calls = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 16);
const port = 18000 + Math.floor(Math.random() * 1000);
const sim = spawn(process.execPath, ["services/simulator/dist/main.js"], {
  env: { ...process.env, SIMULATOR_PORT: String(port), LOG_LEVEL: "warn" },
  stdio: ["ignore", "inherit", "inherit"],
});
const baseURL = `http://127.0.0.1:${port}/v1`;
for (let i = 0; i < 100; i++) {
  try {
    await fetch(`${baseURL}/models`, { headers: { authorization: "Bearer x" } });
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}

const body = { model: "gpt-4o", messages: [{ role: "user", content: "Say hello in five words" }], max_completion_tokens: 20 };
const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
const transport = createTransport({ connections: concurrency, timeoutMs: 30_000 });
const variants = {
  "sdk default fetch": undefined,
  "undici.fetch + Agent": (url, init) => undiciFetch(url, { ...init, dispatcher: agent }),
  "llmq transport (undici.request)": transport.fetch,
};

async function run(name, fetchImpl) {
  const client = new OpenAI({ apiKey: "sim-key", baseURL, maxRetries: 0, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const one = () => client.chat.completions.create(body);
  await Promise.all(Array.from({ length: concurrency * 4 }, one)); // warm up
  let left = calls;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await one();
  }));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const perCallUs = (cpu.user + cpu.system) / calls;
  console.log(`${name.padEnd(34)} ${perCallUs.toFixed(0).padStart(5)} µs CPU/call  ${(calls / (wall / 1000)).toFixed(0).padStart(6)} calls/s`);
  return perCallUs;
}

const results = {};
for (const [name, impl] of Object.entries(variants)) results[name] = await run(name, impl);
const base = results["sdk default fetch"];
for (const [name, us] of Object.entries(results)) console.log(`${name.padEnd(34)} ${(us / base).toFixed(2)}x of the default`);
await transport.close();
await agent.close();
sim.kill("SIGTERM");
await once(sim, "exit");
