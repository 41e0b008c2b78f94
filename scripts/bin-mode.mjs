// After `tsc -b`: the `llmq` bin (cli/dist/main.js) must be executable for `npx llmq` (npm links it as it is;
// tsc writes files without the executable bit).
import { chmodSync, existsSync } from "node:fs";

const bin = new URL("../cli/dist/main.js", import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
