import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatTable } from "../src/table.js";
import { GUIDE_SCHEMAS as GUIDE } from "@llmq/shared/testing";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOAD = join(ROOT, "load");

function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (["node_modules", "dist", "results", "test"].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, ext));
    else if (entry.name.endsWith(ext)) out.push(path);
  }
  return out;
}

const shellScripts = filesUnder(LOAD, ".sh");
const luaScripts = filesUnder(LOAD, ".lua");
const readJson = (name: string): unknown => JSON.parse(readFileSync(join(LOAD, name), "utf8"));

/** Runs bash with common.sh sourced (it cds to the repository root), returning stdout, stderr and status. */
function withCommon(script: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync("bash", ["-c", `source load/lib/common.sh; ${script}`], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

// The performance guide's three structured-output schemas (seed/performance-testing-guide.md), as written there.
const GUIDE_SCHEMAS = { simple: GUIDE.simple, nested: GUIDE.nested, array: GUIDE.array };

describe("the load scripts", () => {
  it("are all found (the guide's three scripts and the shared library)", () => {
    const names = shellScripts.map((p) => relative(ROOT, p)).sort();
    expect(names).toEqual(
      expect.arrayContaining(["load/conversation_test.sh", "load/lib/common.sh", "load/performance_test.sh", "load/structured_vs_unstructured_test.sh"]),
    );
  });

  it.each(shellScripts.map((p) => [relative(ROOT, p), p]))("%s passes bash -n", (_name, path) => {
    const r = spawnSync("bash", ["-n", path], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(shellScripts.filter((p) => !p.includes("/lib/")).map((p) => [relative(ROOT, p), p]))("%s is executable", (_name, path) => {
    expect(statSync(path).mode & 0o111).not.toBe(0);
  });

  it("reference load/ paths only, never the guide's tests/performance/, and every load/ path they name exists", () => {
    for (const path of [...shellScripts, ...luaScripts]) {
      const text = readFileSync(path, "utf8");
      expect(text, relative(ROOT, path)).not.toContain("tests/performance");
      for (const [ref] of text.matchAll(/\bload\/[A-Za-z0-9_./-]+\.(?:lua|json|sh)\b/g)) {
        expect(existsSync(join(ROOT, ref)), `${relative(ROOT, path)} names ${ref}`).toBe(true);
      }
    }
  });

  it("run the guide's batch command with load/batch_test.lua", () => {
    const text = readFileSync(join(LOAD, "performance_test.sh"), "utf8");
    expect(text).toMatch(/-t8 -c50 -d"\$DURATION" --latency "\$\{H_KEY\[@\]\}" "\$\{H_JSON\[@\]\}" -s load\/batch_test\.lua "\$BASE_URL\/api\/v1\/unstructured"/);
    expect(text).toContain('"Scenario: $name"');
    expect(text).toContain('run_scenario health "Light Load');
    expect(text).toContain('out "Summary of Results"');
  });

  it("write the guide's CSV header exactly", () => {
    const text = readFileSync(join(LOAD, "structured_vs_unstructured_test.sh"), "utf8");
    expect(text).toContain(
      'echo "Model,Test Case,Endpoint,Latency (s),Input Tokens,Output Tokens,Total Requests,Average Duration (s)" >"$CSV"',
    );
  });
});

describe("the load configs", () => {
  it("structured_test_cases.json holds the guide's three cases, schemas exactly as the guide, each on the guide's model", () => {
    const cases = (readJson("structured_test_cases.json") as { test_cases: { id: string; name: string; model: string; prompt: string; schema: unknown }[] }).test_cases;
    expect(cases.map((c) => c.id)).toEqual(["simple", "nested", "array"]);
    expect(cases.map((c) => c.name)).toEqual(["Simple JSON Object", "Nested JSON Object", "Array of Objects"]);
    expect(cases.map((c) => c.model)).toEqual(["gpt-3.5-turbo", "claude-2", "gpt-4"]);
    expect(cases.map((c) => c.prompt)).toEqual([
      "Generate a simple user object with name, age, and email",
      "Generate a complex user profile with nested objects",
      "Generate a list of 5 user objects",
    ]);
    for (const c of cases) expect(c.schema).toEqual(GUIDE_SCHEMAS[c.id as keyof typeof GUIDE_SCHEMAS]);
  });

  it("conversation_prompts.json has short, medium and long conversations run 3, 2 and 2 times", () => {
    const file = readJson("conversation_prompts.json") as {
      models: { provider: string; model: string }[];
      conversation_types: Record<string, { iterations: number; prompts: string[] }>;
    };
    expect(Object.keys(file.conversation_types)).toEqual(["short", "medium", "long"]);
    expect(Object.values(file.conversation_types).map((t) => t.iterations)).toEqual([3, 2, 2]);
    const turns = Object.values(file.conversation_types).map((t) => t.prompts.length);
    expect(turns[0]).toBeLessThan(turns[1] ?? 0);
    expect(turns[1]).toBeLessThan(turns[2] ?? 0);
    expect(file.models.map((m) => m.provider).sort()).toEqual(["anthropic", "groq", "openai"]);
  });

  it("the request bodies parse and are the guide's", () => {
    for (const name of readdirSync(join(LOAD, "bodies"))) expect(() => readJson(join("bodies", name))).not.toThrow();
    expect(readJson("bodies/compare_structured.json")).toMatchObject({ model: "gpt-4", schema: { properties: { address: GUIDE_SCHEMAS.array.items.properties.address } } });
    expect(readJson("bodies/unstructured_product.json")).toEqual({ model: "llama3-8b-8192", prompt: "Write a detailed product description for a smartphone", max_tokens: 500 });
  });
});

describe("load/lib/common.sh", () => {
  it("reads durations as wrk does", () => {
    const r = withCommon('for d in 3s 1m 45 2h; do llmq_duration_seconds "$d"; done; llmq_duration_seconds 3x || echo bad');
    expect(r.stdout.trim().split("\n")).toEqual(["3", "60", "45", "7200", "bad"]);
  });

  it("finds the host and port of a URL, IPv6 included", () => {
    const r = withCommon(
      'for u in http://localhost:8000/x http://[::1]:8300 https://user:pw@example.com/a http://127.0.0.1; do echo "$(llmq_url_host "$u") $(llmq_url_port "$u")"; done',
    );
    expect(r.stdout.trim().split("\n")).toEqual(["localhost 8000", "::1 8300", "example.com 443", "127.0.0.1 80"]);
  });

  it("refuses a non-loopback BASE_URL unless ALLOW_REMOTE=1", () => {
    const refused = withCommon("llmq_check_target; echo local=$LLMQ_LOCAL", { BASE_URL: "http://10.20.30.40:8000" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("refusing to send load to 10.20.30.40");
    const allowed = withCommon("llmq_check_target; echo local=$LLMQ_LOCAL", { BASE_URL: "http://10.20.30.40:8000", ALLOW_REMOTE: "1" });
    expect(allowed.stdout).toContain("local=0");
    const local = withCommon("llmq_check_target; echo local=$LLMQ_LOCAL", { BASE_URL: "http://127.0.0.1:8000" });
    expect(local.stdout).toContain("local=1");
  });

  it("does not take a remote host for loopback: a 127.* name, or 127.0.0.1 after a ? or # (curl goes to the host before it)", () => {
    for (const url of ["http://127.example.com:8000", "http://example.com#@127.0.0.1:8000", "http://example.com?@127.0.0.1"]) {
      const r = withCommon("llmq_check_target; echo local=$LLMQ_LOCAL", { BASE_URL: url });
      expect(r.status, url).toBe(1);
      expect(r.stderr, url).toMatch(/refusing to send load to 127\.example\.com|refusing to send load to example\.com/);
    }
  });

  it("reads API_KEY from .env the way the guide does when the environment has none", () => {
    const r = withCommon('cd "$(mktemp -d)" && printf "OTHER=1\\nAPI_KEY=\\"from-dotenv\\"\\n" > .env && LLMQ_CALLER_DIR=$PWD && unset API_KEY && llmq_read_api_key && echo "$API_KEY"');
    expect(r.stdout.trim()).toBe("from-dotenv");
  });

  it("works under set -euo pipefail: no key in .env, no process found, a measurement begun and ended", () => {
    const r = spawnSync(
      "bash",
      ["-c", 'set -euo pipefail; source load/lib/common.sh; cd "$(mktemp -d)"; LLMQ_CALLER_DIR=$PWD; unset API_KEY; llmq_read_api_key; BASE_URL=http://127.0.0.1:1; LLMQ_LOCAL=1; API_PIDS=$$ WORKER_PIDS=$$ SIMULATOR_PIDS=$$ REDIS_PID=$$ llmq_find_pids; llmq_res_begin; llmq_res_end; echo "done: $LLMQ_RES_CSV"'],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.stderr).toContain("API_KEY is not set");
    expect(r.status).toBe(0);
    // The API pid doubles as the others: counted once, as the API.
    expect(r.stdout).toMatch(/^done: [\d.]+,[^,]*,n\/a,n\/a,n\/a,n\/a,[\d.]+,/m);
  });

  // Skipped, and reported as skipped, without curl: a bare return would pass without checking anything.
  it.skipIf(spawnSync("curl", ["--version"]).error !== undefined)("says clearly when nothing answers at BASE_URL", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 1));
      });
    });
    const r = spawnSync("bash", [join(LOAD, "conversation_test.sh")], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, BASE_URL: `http://127.0.0.1:${port}`, API_KEY: "k" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`llmq does not answer at http://127.0.0.1:${port}`);
  });
});

describe("the bench table", () => {
  it("is a Markdown table with numbers right-aligned", () => {
    const table = formatTable([
      { scenario: "bare simulator", "req/s": "9000" },
      { scenario: "llmq unstructured", "req/s": "1500" },
    ]);
    expect(table.split("\n")).toEqual([
      "| scenario          | req/s |",
      "|-------------------|------:|",
      "| bare simulator    |  9000 |",
      "| llmq unstructured |  1500 |",
    ]);
  });
});
