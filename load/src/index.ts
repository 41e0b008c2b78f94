// @llmq/load: the pieces of the benchmark that tests reuse. The bench itself is bench.ts (npm run bench).
export { startStack, deletePrefixKeys, freePort, missingBuilds, REPO_ROOT, type Stack, type StackOptions } from "./stack.js";
export { runWrk, hasWrk, type WrkRun } from "./wrk.js";
export { runClosedLoop, type ClosedLoopRun, type LoopRequest } from "./closed-loop.js";
export { percentile, type LoadResult } from "./load-result.js";
export { formatTable, type TableRow } from "./table.js";
export { cpuMs, machine, type Machine } from "./proc-stats.js";
export { medianOf } from "./rounds.js";
export { positiveInt } from "./settings.js";
