import { parseArgs, type ParseArgsConfig } from "node:util";
import { cancelCommand, listCommand, resultsCommand, retryCommand, statusCommand } from "./commands/batch-commands.js";
import { submitCommand } from "./commands/batch-submit.js";
import { runCommand } from "./commands/run.js";
import type { Ctx } from "./context.js";
import { EXIT, UsageError } from "./errors.js";
import { HELP } from "./help.js";
import { Api } from "./http.js";
import { resolveSettings } from "./settings.js";

/**
 * `llmq`: the command line. Parses the command and its flags (node:util parseArgs, strict: an unknown
 * flag is a usage error), resolves the settings, runs the command and exits with its code. Whatever goes wrong
 * ends as exit code 2 with one line on stderr, never a stack trace (LLMQ_DEBUG=1 prints it).
 */
type Options = NonNullable<ParseArgsConfig["options"]>;

const COMMON: Options = {
  url: { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  interval: { type: "string" },
};

const COMMANDS: Record<string, Options> = {
  submit: { wait: { type: "boolean", default: false }, out: { type: "string" }, "max-items": { type: "string" }, "max-bytes": { type: "string" } },
  status: {},
  results: { out: { type: "string" } },
  retry: { wait: { type: "boolean", default: false }, out: { type: "string" } },
  cancel: {},
  list: { limit: { type: "string" }, cursor: { type: "string" }, all: { type: "boolean", default: false } },
  run: { type: { type: "string" }, model: { type: "string" }, prompt: { type: "string" }, schema: { type: "string" }, "max-tokens": { type: "string" } },
};

export async function main(argv: readonly string[], io: { env: NodeJS.ProcessEnv; cwd: string; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; stdin: NodeJS.ReadStream }): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.stdout.write(`${HELP.main}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  let name: string;
  let rest: string[];
  if (first === "batch") {
    if (second === undefined || second === "--help" || second === "-h") {
      io.stdout.write(`${HELP.batch}\n`);
      return second === undefined ? EXIT.usage : EXIT.ok;
    }
    if (second === "run" || !(second in COMMANDS)) throw new UsageError(`unknown batch command "${second}" (submit, status, results, retry, cancel, list)`);
    name = second;
    rest = argv.slice(2);
  } else if (first === "run") {
    name = "run";
    rest = argv.slice(1);
  } else {
    throw new UsageError(`unknown command "${first}" (batch, run; llmq --help)`);
  }
  const { values, positionals } = parse(rest, { ...COMMON, ...COMMANDS[name] });
  if (values.help === true) {
    io.stdout.write(`${HELP[name]}\n`);
    return EXIT.ok;
  }
  const settings = resolveSettings({ url: str(values.url), "api-key": str(values["api-key"]) }, io.env, io.cwd);
  const ctx: Ctx = {
    api: new Api(settings),
    json: values.json === true,
    out: (text) => new Promise<void>((resolve, reject) => io.stdout.write(text, (err) => (err ? reject(err) : resolve()))),
    err: io.stderr,
  };
  const intervalMs = positiveInt(values.interval, "--interval", 1000);
  switch (name) {
    case "submit":
      return submitCommand(ctx, {
        file: one(positionals, "FILE"),
        wait: values.wait === true,
        out: str(values.out),
        maxItems: positiveInt(values["max-items"], "--max-items", 10_000),
        maxBytes: positiveInt(values["max-bytes"], "--max-bytes", 60_000_000),
        intervalMs,
      });
    case "status":
      return statusCommand(ctx, ids(positionals));
    case "results":
      return resultsCommand(ctx, ids(positionals), str(values.out));
    case "retry":
      return retryCommand(ctx, ids(positionals), { wait: values.wait === true, out: str(values.out), intervalMs });
    case "cancel":
      return cancelCommand(ctx, ids(positionals));
    case "list":
      none(positionals);
      return listCommand(ctx, { limit: positiveInt(values.limit, "--limit", 20), cursor: str(values.cursor), all: values.all === true });
    default:
      none(positionals);
      return runCommand(ctx, { type: str(values.type), model: str(values.model), prompt: str(values.prompt), schema: str(values.schema), maxTokens: str(values["max-tokens"]), intervalMs }, () => readAll(io.stdin));
  }
}

function parse(args: string[], options: Options): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function positiveInt(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !/^\d{1,12}$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} must be a positive integer`);
  return Number(v);
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}, got ${positionals.length}`);
  return positionals[0] as string;
}

function none(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

const BATCH_ID = /^batch_[0-9a-f]{32}$/;

function ids(positionals: string[]): string[] {
  if (positionals.length === 0) throw new UsageError("expected at least one batch ID");
  const bad = positionals.find((p) => !BATCH_ID.test(p));
  if (bad !== undefined) throw new UsageError(`"${bad.slice(0, 80)}" is not a batch id (batch_ followed by 32 hex digits)`);
  return positionals;
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text;
}

