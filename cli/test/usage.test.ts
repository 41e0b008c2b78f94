import { describe, expect, it } from "vitest";
import { Progress } from "../src/progress.js";
import { parseBatchText } from "../src/input.js";
import { readDotenv, resolveSettings } from "../src/settings.js";
import { runCli, scratchDir } from "./run-cli.js";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

describe("llmq without a running llmq", () => {
  it("--help works on every command and exits 0; no command prints the usage and exits 2", async () => {
    for (const args of [["--help"], ["batch", "--help"], ["batch", "submit", "--help"], ["batch", "status", "-h"], ["batch", "results", "--help"], ["batch", "retry", "--help"], ["batch", "cancel", "--help"], ["batch", "list", "--help"], ["run", "--help"]]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout, args.join(" ")).toMatch(/^llmq/);
    }
    expect((await runCli(["batch", "submit", "--help"])).stdout).toContain("OpenAI batch JSONL");
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain("Usage:");
  });

  it("usage errors, a missing key and an unreachable llmq all exit 2 with one line naming the problem", async () => {
    // A port nothing listens on (fetch refuses some well-known ports outright, so not a fixed low one).
    const port = await closedPort();
    const env = { LLMQ_API_KEY: "k", LLMQ_URL: `http://127.0.0.1:${port}` };
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["frobnicate"], env, /unknown command "frobnicate"/],
      [["batch", "explode"], env, /unknown batch command "explode"/],
      [["batch", "status", "--bogus", "x"], env, /Unknown option '--bogus'/],
      [["batch", "status", "not-an-id"], env, /is not a batch id/],
      [["batch", "submit", "/nonexistent/file.jsonl"], env, /cannot (read|reach)/],
      [["batch", "submit", "a", "b"], env, /expected one FILE, got 2/],
      [["batch", "submit", openAiFile()], env, new RegExp(`^llmq: cannot reach llmq at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED\n$`)],
      [["batch", "list", "--limit", "0"], env, /--limit must be a positive integer/],
      [["batch", "status", `batch_${"a".repeat(32)}`], {}, /no API key/],
      [["batch", "status", `batch_${"a".repeat(32)}`], env, new RegExp(`cannot reach llmq at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`)],
      [["run", "--prompt", "hi"], env, /--model is required/],
    ];
    for (const [args, e, message] of cases) {
      const r = await runCli(args, { env: e });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe("settings", () => {
  it("flags win over the environment, which wins over .env; an llmq checkout's own .env PORT and API_KEY are the fallback", () => {
    const dir = scratchDir();
    writeFileSync(join(dir, ".env"), "# comment\nPORT=9100\nAPI_KEYS=alice:key-a,bob:key-b\n");
    expect(resolveSettings({}, {}, dir)).toEqual({ url: "http://localhost:9100", apiKey: "key-a" });
    writeFileSync(join(dir, ".env"), 'LLMQ_URL="http://h:1/"\nLLMQ_API_KEY=from-dotenv # trailing\nAPI_KEY=other\n');
    expect(resolveSettings({}, {}, dir)).toEqual({ url: "http://h:1", apiKey: "from-dotenv" });
    expect(resolveSettings({}, { LLMQ_URL: "http://e:2", LLMQ_API_KEY: "from-env" }, dir)).toEqual({ url: "http://e:2", apiKey: "from-env" });
    expect(resolveSettings({ url: "http://f:3", "api-key": "from-flag" }, { LLMQ_URL: "http://e:2", LLMQ_API_KEY: "from-env" }, dir)).toEqual({ url: "http://f:3", apiKey: "from-flag" });
    expect(readDotenv(join(dir, "missing"))).toEqual({});
  });
});

describe("reading batch files", () => {
  it("OpenAI batch lines become conversation items, or structured ones for a json_schema response_format; dropped fields are reported", () => {
    const lines = [
      { custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o-mini", messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: [{ type: "text", text: "Hi" }] }], max_completion_tokens: 20, top_p: 0.5 } },
      { custom_id: "b", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "A user" }], response_format: { type: "json_schema", json_schema: { name: "u", schema: { type: "object" } } } } },
    ];
    const file = parseBatchText(lines.map((l) => JSON.stringify(l)).join("\n"), "f.jsonl");
    expect(file.format).toBe("openai");
    expect(file.items).toEqual([
      { custom_id: "a", type: "conversation", body: { model: "gpt-4o-mini", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], max_tokens: 20 } },
      { custom_id: "b", type: "structured", body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "A user" }], schema: { type: "object" } } },
    ]);
    expect(file.notes).toEqual(['1 line(s): "top_p" has no llmq equivalent and was not sent']);
    // With chat items available, the body goes as it is.
    expect(parseBatchText(JSON.stringify(lines[0]), "f.jsonl", { chatType: true }).items[0]).toEqual({ custom_id: "a", type: "chat", body: lines[0]!.body });
  });

  it("llmq JSON and NDJSON are read as they are; a bad line names its line number", () => {
    const item = { custom_id: "x", type: "unstructured", body: { model: "m", prompt: "p" } };
    expect(parseBatchText(JSON.stringify({ requests: [item], metadata: { k: "v" } }), "f.json")).toMatchObject({ format: "json", items: [item], metadata: { k: "v" } });
    expect(parseBatchText(`${JSON.stringify(item)}\n\n${JSON.stringify({ ...item, custom_id: "y" })}\n`, "f.ndjson")).toMatchObject({ format: "ndjson", items: [item, { ...item, custom_id: "y" }] });
    expect(() => parseBatchText(`${JSON.stringify(item)}\n{oops`, "f.ndjson")).toThrow(/f\.ndjson:2: not JSON/);
    expect(() => parseBatchText(JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/embeddings", body: {} }), "f.jsonl")).toThrow(/only \/v1\/chat\/completions/);
    expect(() => parseBatchText(JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "m", messages: [{ role: "tool", content: "x" }] } }), "f.jsonl")).toThrow(/role "tool" has no llmq equivalent/);
  });
});

describe("progress", () => {
  it("on a terminal one line is redrawn with a bar, rate and ETA; elsewhere a plain line is printed only when the counts change", () => {
    let t = 0;
    const tty: string[] = [];
    const p = new Progress({ isTTY: true, write: (s: string) => tty.push(s) }, () => t);
    p.update({ total: 100, queued: 100, active: 0, completed: 0, failed: 0, cancelled: 0 });
    t = 2000;
    p.update({ total: 100, queued: 50, active: 10, completed: 38, failed: 2, cancelled: 0 });
    p.finish();
    expect(tty[0]).toMatch(/^\r\x1b\[2K\[-{30}\] done 0\/100 \(0\.0%\)/);
    expect(tty[1]).toBe("\r\x1b[2K[############------------------] done 40/100 (40.0%)  failed 2  active 10  rate 20.0/s  ETA 3s");
    expect(tty[2]).toBe("\n");

    const plain: string[] = [];
    const q = new Progress({ isTTY: false, write: (s: string) => plain.push(s) }, () => t);
    q.update({ total: 10, queued: 10, active: 0, completed: 0, failed: 0, cancelled: 0 });
    q.update({ total: 10, queued: 10, active: 0, completed: 0, failed: 0, cancelled: 0 });
    q.update({ total: 10, queued: 0, active: 0, completed: 10, failed: 0, cancelled: 0 });
    q.finish();
    expect(plain).toHaveLength(2);
    expect(plain.every((l) => l.endsWith("\n") && !l.includes("\x1b"))).toBe(true);
    expect(plain[1]).toMatch(/^done 10\/10 \(100\.0%\)  failed 0  active 0  rate .*  ETA 0s\n$/);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function openAiFile(): string {
  const path = join(scratchDir(), "one.jsonl");
  writeFileSync(path, `${JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "m", messages: [{ role: "user", content: "hi" }] } })}\n`);
  return path;
}
