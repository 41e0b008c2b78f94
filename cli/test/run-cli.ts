import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `llmq` bin (cli/bin/llmq.mjs, which runs the built cli/dist/main.js), as `npx llmq` runs it: a child process, its exit code and both streams. */
export const CLI = fileURLToPath(new URL("../bin/llmq.mjs", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An empty working directory, so no developer's .env is read. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "llmq-cli-"));
}

export function runCli(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("LLMQ_")) env[k] = v;
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? scratchDir(), env: { ...env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
