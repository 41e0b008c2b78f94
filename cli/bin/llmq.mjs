#!/usr/bin/env node
// The `llmq` bin. A committed file rather than dist/main.js: npm links a workspace's bin at `npm ci` only when
// the file exists, which a build output does not yet. The command itself is cli/dist/main.js (`npm run build`).
try {
  await import("../dist/main.js");
} catch (err) {
  if (err?.code !== "ERR_MODULE_NOT_FOUND" || !String(err.message).includes("dist/main.js")) throw err;
  process.stderr.write("llmq: the command is not built yet: run `npm run build` in the repository first\n");
  process.exitCode = 2;
}
