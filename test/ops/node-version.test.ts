import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { rawEnv } from "@llmq/shared";
import { ROOT } from "./procs.js";

/**
 * Every entry point refuses a Node outside package.json's engines at once, with one line (scripts/check-node.mjs),
 * instead of a stack trace from inside a dependency. Checked with this Node, with version arguments, and with a
 * real older Node (the system's Node 20 here) on PATH for the npm scripts; skipped, saying why, without one.
 */
const CHECK = join(ROOT, "scripts/check-node.mjs");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string }; scripts: Record<string, string> };
const RANGE = pkg.engines.node;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** This process's environment without what the outer npm and vitest set (npm_* settings, NODE_OPTIONS). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_") && k !== "NODE_OPTIONS"));
}

/** A Node binary older than 22 on this machine (PATH, then the usual places), with its version. */
function findOldNode(): { bin: string; version: string } | undefined {
  const dirs = [...(rawEnv("PATH") ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"].filter(Boolean);
  for (const bin of [...dirs.map((d) => join(d, "node")), "/usr/bin/nodejs"]) {
    if (!existsSync(bin)) continue;
    const version = spawnSync(bin, ["-p", "process.versions.node"], { encoding: "utf8", env: cleanEnv() }).stdout?.trim() ?? "";
    if (/^\d+\./.test(version) && Number(version.split(".")[0]) < 22) return { bin, version };
  }
  return undefined;
}

const old = findOldNode();
if (old === undefined) console.log("node-version.test.ts: the tests on an old Node are skipped: no Node older than 22 on this machine");

describe("scripts/check-node.mjs on this Node", () => {
  it("prints nothing and exits 0 on a Node that package.json's engines accept", async () => {
    expect(await run(process.execPath, [CHECK])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("checks package.json's engines.node itself, so the two cannot drift: 22.18 and 23 refused, 22.19+ and 24+ accepted", async () => {
    const cases = { "14.21.3": 1, "20.20.2": 1, "22.18.0": 1, "22.19.0": 0, "22.23.1": 0, "23.11.0": 1, "24.0.0": 0, "24.21.0": 0, "25.1.0": 0 };
    for (const [version, code] of Object.entries(cases)) {
      const r = await run(process.execPath, [CHECK, version]);
      expect(r.code, version).toBe(code);
      if (code === 0) expect(r.stderr, version).toBe("");
      else expect(r.stderr, version).toMatch(refusal(version));
    }
    // No copy of the range to drift from engines: not in the script, and .ci/run asks the script.
    expect(readFileSync(CHECK, "utf8")).not.toMatch(/\b22\.19\b/);
    expect(readFileSync(join(ROOT, ".ci/run"), "utf8")).toMatch(/node_ok\(\) \{ node scripts\/check-node\.mjs /);
  });

  it("runs first in every entry point: npm start imports it before anything else, each other script calls it before its work", () => {
    const start = readFileSync(join(ROOT, "scripts/start.mjs"), "utf8");
    expect(pkg.scripts.start).toBe("node scripts/start.mjs");
    expect(/^import .*$/m.exec(start)?.[0]).toBe('import "./check-node.mjs";');
    const benches = Object.keys(pkg.scripts).filter((name) => name === "bench" || name.startsWith("bench:"));
    expect(benches).toEqual(expect.arrayContaining(["bench", "bench:scale", "bench:capacity", "bench:stream", "bench:schema"]));
    for (const name of ["start:api", "start:worker", "start:simulator", "build", "typecheck", "test", "test:unit", ...benches]) {
      expect(pkg.scripts[name], name).toMatch(/^node scripts\/check-node\.mjs && /);
    }
  });
});

describe.skipIf(old === undefined)(`on an older Node (${old?.version ?? "none found"})`, () => {
  const oldBin = old?.bin ?? "";
  // The old Node's directory first; PATH directories holding another node binary (this Node 24's) left out.
  const oldPath = [dirname(oldBin), ...(rawEnv("PATH") ?? "").split(delimiter).filter((d) => d !== "" && d !== dirname(oldBin) && !existsSync(join(d, "node")))].join(delimiter);

  it("the check prints one line, the range llmq needs, the version found and how to get Node 24, and exits 1", async () => {
    const r = await run(oldBin, [CHECK]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(refusal(old?.version ?? ""));
    expect(r.stderr).toMatch(/npm install --prefix "\$HOME\/\.node24" node@24/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("`node scripts/start.mjs` stops at once with that one line, before anything that needs Node 22 is imported", async () => {
    const check = await run(oldBin, [CHECK]);
    expect(await run(oldBin, [join(ROOT, "scripts/start.mjs")], { PATH: oldPath })).toEqual({ code: 1, stdout: "", stderr: check.stderr });
  });

  it.skipIf(!existsSync(join(dirname(oldBin), "npm")))("npm start, every start:*, test, test:unit, build and every bench stop with that one line", async () => {
    const check = await run(oldBin, [CHECK]);
    const scripts = ["start", "start:api", "start:worker", "start:simulator", "test", "test:unit", "bench", "bench:scale", "bench:capacity", "build"];
    const runs = await Promise.all(scripts.map((s) => run("npm", ["run", "--silent", s], { PATH: oldPath })));
    for (const [i, r] of runs.entries()) expect(r, scripts[i]).toEqual({ code: 1, stdout: "", stderr: check.stderr });
  });
});

/** The whole of stderr on a refusal: one line, the range from engines, the version found, how to get Node 24. */
function refusal(version: string): RegExp {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escape(`llmq needs Node ${RANGE} (found ${version}): install Node 24 (`)}[^\n]+\\)\n$`);
}
