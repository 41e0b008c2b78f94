#!/usr/bin/env node
import { main } from "./cli.js";
import { CliError, EXIT } from "./errors.js";

// The `llmq` bin: runs the command line on this process's argv and streams, and exits with its code (errors.ts).
// The one place the command line reads its environment: everything below gets it as `env`.
const env = process.env;
main(process.argv.slice(2), { env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`llmq: ${err instanceof CliError ? err.message : `unexpected error: ${(err as Error).message}`}\n`);
    if (env.LLMQ_DEBUG === "1") process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    process.exitCode = EXIT.usage;
  },
);
