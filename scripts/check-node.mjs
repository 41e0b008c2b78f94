#!/usr/bin/env node
// Every entry point (npm start, start:*, test, build, bench*) runs this first: on a Node older than llmq needs
// it prints one line (the range, the version found, how to get Node 24) and exits 1, instead of a stack trace
// from deep inside a dependency (undici 8, for one, needs a newer Node than 20).
// Invariant: it must itself run on any old Node (14 and up), so it is plain JS with no dependencies and no
// syntax newer than ES2018, and the range comes from package.json's engines.node, never a copy of it.
// `node scripts/check-node.mjs [version]` checks that version instead of the running Node's (for tests).
import { readFileSync } from "fs";
import { dirname, join, resolve } from "path";
import { fileURLToPath } from "url";

const here = fileURLToPath(import.meta.url);
const HOW = 'install Node 24 (nvm install 24, or npm install --prefix "$HOME/.node24" node@24 and put $HOME/.node24/node_modules/.bin first on PATH)';

/** [major, minor, patch] of "1.2.3", "v4.5", "6" (missing parts 0; a prerelease tag is dropped). */
function parse(version) {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[\w.]+)?$/.exec(String(version).trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] || 0), Number(m[3] || 0)];
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** One comparator ("^1.2.3", ">=4.0.0", "<5", "1.2.3"); throws on anything else. */
function fits(v, comparator) {
  const m = /^(\^|~|>=|<=|>|<|=)?\s*(\S+)$/.exec(comparator);
  const want = m && parse(m[2]);
  if (!want) throw new Error(`cannot read "${comparator}"`);
  const c = compare(v, want);
  switch (m[1] || "=") {
    case "^":
      return c >= 0 && (want[0] > 0 ? v[0] === want[0] : v[0] === 0 && v[1] === want[1]);
    case "~":
      return c >= 0 && v[0] === want[0] && v[1] === want[1];
    case ">=":
      return c >= 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case "<":
      return c < 0;
    default:
      return c === 0;
  }
}

/** True when version satisfies range: alternatives joined by "||", each one or more comparators. */
export function satisfies(version, range) {
  const v = parse(version);
  if (!v) throw new Error(`cannot read version "${version}"`);
  return range.split("||").some((alt) => {
    const comparators = alt.trim().replace(/(\^|~|>=|<=|>|<|=)\s+/g, "$1").split(/\s+/).filter(Boolean);
    if (comparators.length === 0) throw new Error(`cannot read range "${range}"`);
    return comparators.every((c) => fits(v, c));
  });
}

/** package.json's engines.node. */
export function engineRange() {
  const pkg = JSON.parse(readFileSync(join(dirname(here), "..", "package.json"), "utf8"));
  const range = pkg.engines && pkg.engines.node;
  if (typeof range !== "string" || range.trim() === "") throw new Error("package.json has no engines.node");
  return range;
}

/** The one line to print, or undefined when version fits. */
export function nodeProblem(version) {
  let range = "?";
  try {
    range = engineRange();
    if (satisfies(version, range)) return undefined;
  } catch (err) {
    return `llmq: scripts/check-node.mjs could not check Node ${version} against package.json engines.node "${range}": ${err.message}`;
  }
  return `llmq needs Node ${range} (found ${String(version).replace(/^v/, "")}): ${HOW}`;
}

// Run as a script, or imported first by scripts/start.mjs: either way, stop here on a Node that does not fit.
const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === here;
const problem = nodeProblem(isMain && process.argv[2] ? process.argv[2] : process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
