import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { hasWrk, missingBuilds, REPO_ROOT, startStack } from "../src/index.js";

// One real run of performance_test.sh, every scenario for 1 s, against a private llmq (built services,
// zero-latency simulator, its own Redis prefix). Skipped, saying why, when a tool or the build is missing.
function skipReason(): string | undefined {
  if (!hasWrk()) return "wrk is not installed";
  for (const tool of ["jq", "curl"]) if (spawnSync(tool, ["--version"], { stdio: "ignore" }).error) return `${tool} is not installed`;
  const missing = missingBuilds();
  if (missing.length > 0) return `llmq is not built (${missing.join(", ")})`;
  return undefined;
}

const reason = skipReason();
if (reason !== undefined) console.log(`load-scripts.int.test.ts skipped: ${reason}`);

function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

describe.skipIf(reason !== undefined)("performance_test.sh against a running llmq", () => {
  it("runs every scenario of the guide and writes the results file, with no non-2xx answer in the batch scenario", async () => {
    const stack = await startStack({ redisUrl: inject("redisUrl") });
    const results = mkdtempSync(join(tmpdir(), "llmq-load-"));
    try {
      const { code, output } = await runScript("load/performance_test.sh", {
        DURATION: "1s",
        BASE_URL: stack.apiUrl,
        API_KEY: stack.apiKey,
        RESULTS_DIR: results,
        REDIS_URL: stack.redisUrl,
        API_PIDS: String(stack.pids.api ?? ""),
        WORKER_PIDS: String(stack.pids.worker ?? ""),
        SIMULATOR_PIDS: String(stack.pids.simulator ?? ""),
        DRAIN_TIMEOUT_S: "10",
      });
      expect(code, output.slice(-3000)).toBe(0);
      const [file] = readdirSync(results).filter((f) => f.startsWith("performance_results_"));
      const text = readFileSync(join(results, file ?? "missing"), "utf8");

      const summary = text.slice(text.indexOf("Summary of Results")).split("\n\n")[0]?.split("\n") ?? [];
      expect(summary[1]).toBe("Scenario,Requests/sec,Avg Latency (ms),P95 Latency (ms),P99 Latency (ms),Max Latency (ms),Errors,Requests");
      const rows = summary.slice(2);
      expect(rows).toHaveLength(11);
      for (const row of rows) expect(row, row).not.toContain("n/a");
      expect(text).toMatch(/^Scenario: Light Load/m);
      expect(text).toMatch(/^Batch scenario: 0 non-2xx answers, 0 socket errors/m);
      // The API, worker and simulator were found and measured.
      expect(text).toMatch(/Resources: .*api: cpu [\d.]+s.*worker: cpu [\d.]+s.*simulator: cpu [\d.]+s/);
    } finally {
      rmSync(results, { recursive: true, force: true });
      await stack.stop();
    }
  }, 90_000);
});
