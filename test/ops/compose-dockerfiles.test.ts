import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "./procs.js";

/**
 * No Docker engine runs here, so the deployment files are checked as text: the properties operators rely on
 * (issue 6), and that every path the images copy exists and every CMD names a file the build produces.
 */
type Service = {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[] | string };
  profiles?: string[];
  container_name?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
};
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

function argv(command: Service["command"]): string[] {
  return Array.isArray(command) ? command : (command ?? "").split(/\s+/).filter(Boolean);
}

/** Seconds in a compose duration like "40s", "1m30s". */
function seconds(d: string | undefined): number {
  let total = 0;
  for (const [, n, unit] of (d ?? "").matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as "s"];
  return total;
}

describe("docker-compose.yml", () => {
  it("redis: append-only, noeviction, a health check and a named volume for /data", () => {
    const redis = services.redis!;
    const cmd = argv(redis.command);
    expect(cmd[0]).toBe("redis-server");
    expect(cmd[cmd.indexOf("--appendonly") + 1]).toBe("yes");
    expect(cmd[cmd.indexOf("--maxmemory-policy") + 1]).toBe("noeviction");
    expect(redis.healthcheck?.test).toBeDefined();
    const data = (redis.volumes ?? []).find((v) => v.split(":")[1] === "/data");
    expect(data).toBeDefined();
    expect(compose.volumes).toHaveProperty(data!.split(":")[0]!);
  });

  it("api: port 8000, env_file .env, a health check, waits for a healthy Redis, a stop grace above its own", () => {
    const api = services.api!;
    expect(api.ports).toContain("8000:8000");
    expect([api.env_file].flat()).toContain(".env");
    expect(api.environment?.PORT ?? "8000").toBe("8000");
    const test = [api.healthcheck?.test].flat().join(" ");
    expect(test).toMatch(/127\.0\.0\.1:8000\/(api\/v1\/health|livez|readyz)/);
    expect(api.depends_on).toMatchObject({ redis: { condition: "service_healthy" } });
    // API_SHUTDOWN_GRACE_MS defaults to 10 s: Docker must not SIGKILL before sync waits are handed over.
    expect(seconds(api.stop_grace_period)).toBeGreaterThan(10);
  });

  it("worker: scales (no container_name, no host ports), metrics inside the network, stop grace above WORKER_SHUTDOWN_GRACE_MS", () => {
    const worker = services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect([worker.env_file].flat()).toContain(".env");
    expect(Number(worker.environment?.WORKER_METRICS_PORT)).toBeGreaterThan(0);
    expect(seconds(worker.stop_grace_period)).toBeGreaterThan(30);
    expect(worker.profiles).toBeUndefined();
  });

  it("simulator: only under the `sim` profile, on the port the services' SIMULATOR_URL names", () => {
    const sim = services.simulator!;
    expect(sim.profiles).toEqual(["sim"]);
    const url = new URL(services.worker!.environment!.SIMULATOR_URL!);
    expect(url.hostname).toBe("simulator");
    expect(sim.environment?.SIMULATOR_PORT).toBe(url.port);
    expect(sim.environment?.SIMULATOR_HOST).toBe("0.0.0.0");
  });

  it("only redis, api and worker run without a profile; files it mounts exist", () => {
    expect(Object.entries(services).filter(([, s]) => s.profiles === undefined).map(([n]) => n).sort()).toEqual(["api", "redis", "worker"]);
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(":")[0]!;
        if (source.startsWith(".")) expect(existsSync(join(ROOT, source)), `${source} (mounted)`).toBe(true);
      }
    }
  });

  it("every built service names a Dockerfile that exists, and a command the image holds", () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) continue;
      const file = join(ROOT, s.build.context ?? ".", s.build.dockerfile ?? "Dockerfile");
      expect(existsSync(file), `${name}: ${file}`).toBe(true);
      if (s.command !== undefined) {
        const cmd = argv(s.command);
        expect(cmd[0], `${name}: exec form, node first`).toBe("node");
        expect(parseDockerfile(readFileSync(file, "utf8")).runtimePaths.some((p) => cmd[1]!.startsWith(p)), `${name}: ${cmd[1]} is copied into the image`).toBe(true);
        expect(builtBy(cmd[1]!), `${name}: ${cmd[1]} is produced by tsc`).toBe(true);
      }
    }
  });
});

interface Stage {
  from: string;
  name: string | undefined;
  lines: string[];
}

function parseDockerfile(text: string): { stages: Stage[]; runtimePaths: string[] } {
  // Join continuation lines, drop comments.
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const runtime = stages.at(-1)!;
  const runtimePaths = runtime.lines.filter((l) => /^COPY\s/i.test(l)).map((l) => l.split(/\s+/).at(-1)!.replace(/^\.\//, ""));
  return { stages, runtimePaths };
}

/** A path like services/api/dist/main.js: its package compiles src/ to dist/ and has that source file. */
function builtBy(path: string): boolean {
  const m = /^(.*?)\/dist\/(.+)\.js$/.exec(path);
  if (!m) return false;
  const [, pkg, rest] = m;
  const tsconfig = readFileSync(join(ROOT, pkg!, "tsconfig.json"), "utf8");
  return /"outDir":\s*"dist"/.test(tsconfig) && /"rootDir":\s*"src"/.test(tsconfig) && existsSync(join(ROOT, pkg!, "src", `${rest}.ts`));
}

describe.each(["Dockerfile.api", "Dockerfile.worker"])("%s", (file) => {
  const text = readFileSync(join(ROOT, file), "utf8");
  const { stages } = parseDockerfile(text);
  const runtime = stages.at(-1)!;
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));

  it("is multi-stage, every stage on Node 24 slim", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:24(\.\d+)*-slim$/);
  });

  it("runs as a non-root USER, in production mode, with production dependencies only", () => {
    const user = runtime.lines.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user!.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.lines.some((l) => /^ENV\s+NODE_ENV[= ]production/.test(l))).toBe(true);
    // The runtime's node_modules come from a stage that installed with --omit=dev, and from nowhere else.
    const modules = runtime.lines.filter((l) => /^COPY\s/i.test(l) && /node_modules/.test(l));
    expect(modules).toHaveLength(1);
    const from = /--from=(\S+)/.exec(modules[0]!)?.[1];
    const depsStage = stages.find((s) => s.name === from);
    expect(depsStage?.lines.some((l) => /^RUN\s+npm ci\b.*--omit=dev/.test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^RUN\s+npm (ci|install)\b/.test(l) && !/--omit=dev/.test(l))).toBe(false);
  });

  it("starts Node in exec form, so SIGTERM reaches it, with a file the build produces and the image holds", () => {
    const cmdLine = runtime.lines.filter((l) => /^CMD\s/i.test(l)).at(-1)!;
    const cmd = JSON.parse(cmdLine.replace(/^CMD\s+/i, "")) as string[];
    expect(cmd[0]).toBe("node");
    const main = cmd.at(-1)!;
    expect(builtBy(main)).toBe(true);
    const pkg = main.split("/dist/")[0]!;
    // Node's own flags sit between: exactly the service's node-flags.json, as `npm start` and the bench pass them.
    const flagsFile = join(ROOT, pkg, "node-flags.json");
    const flags = existsSync(flagsFile) ? (JSON.parse(readFileSync(flagsFile, "utf8")) as string[]) : [];
    expect(cmd.slice(1, -1)).toEqual(flags);
    expect(runtime.lines.some((l) => new RegExp(`^COPY\\s+--from=\\S+\\s+/app/${pkg}/dist/?\\s+${pkg}/dist/?$`).test(l))).toBe(true);
    // The stage that compiles must build that package.
    const build = stages.find((s) => s.lines.some((l) => /^RUN\s+npx tsc -b\b/.test(l) && l.includes(pkg)));
    expect(build, `a stage runs tsc -b ${pkg}`).toBeDefined();
  });

  it("copies only paths that exist in the repository (or that its build stage produced)", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
    for (const s of stages) {
      for (const line of s.lines.filter((l) => /^COPY\s/i.test(l))) {
        const parts = line.split(/\s+/).slice(1);
        const from = parts.find((p) => p.startsWith("--from="))?.slice("--from=".length);
        const sources = parts.filter((p) => !p.startsWith("--")).slice(0, -1);
        for (const src of sources) {
          if (from !== undefined) {
            expect(stageNames.has(from), `${line}: stage ${from}`).toBe(true);
            const path = src.replace(/^\/app\/?/, "");
            if (path === "node_modules/" || path === "node_modules") continue;
            if (/(^|\/)dist\/?$/.test(path)) expect(existsSync(join(ROOT, path.replace(/dist\/?$/, ""), "tsconfig.json")), line).toBe(true);
            else expect(existsSync(join(ROOT, path)), line).toBe(true);
          } else {
            expect(existsSync(join(ROOT, src)), line).toBe(true);
            expect(ignored.some((pattern) => pattern === src.replace(/\/$/, "")), `${src} is in .dockerignore`).toBe(false);
          }
        }
      }
    }
  });
});

describe("node flags", () => {
  it.each(["api", "worker", "simulator"])("npm run start:%s passes the service's node-flags.json, like its image", (name) => {
    const file = join(ROOT, "services", name, "node-flags.json");
    const flags = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as string[]) : [];
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts[`start:${name}`]).toContain(`exec node ${[...flags, `services/${name}/dist/main.js`].join(" ")}`);
  });
});
