// SIM_LIMITS syntax, parsed once and pure (the buckets that enforce it live in rate-limits.ts):
//   SIM_LIMITS="gpt-4=rpm:6000,tpm:600000;claude-sonnet-4-5=rpm:50,itpm:30000,otpm:8000;*=rpm:60"
// Entries are separated by ";", each `model=key:count,…`; `*` is every model without its own entry.

export const LIMIT_KEYS = ["rpm", "tpm", "itpm", "otpm", "rpd"] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];

/** The limits of one model; a key absent is not limited. */
export type ModelLimits = Partial<Record<LimitKey, number>>;

/** Limits by model id (`*` for every model without its own entry). */
export type LimitsSpec = Record<string, ModelLimits>;

export const ANY_MODEL = "*";

const FORM =
  'Expected "model=key:count,…" entries separated by ";", key one of rpm, tpm, itpm, otpm, rpd, count a ' +
  'positive integer, and model "*" for every model without its own entry, ' +
  'e.g. "gpt-4=rpm:6000,tpm:600000;claude-sonnet-4-5=rpm:50,itpm:30000,otpm:8000;*=rpm:60".';

function isLimitKey(key: string): key is LimitKey {
  return (LIMIT_KEYS as readonly string[]).includes(key);
}

/** Problems with one model's limits, as short phrases; empty when they are valid. */
function limitProblems(pairs: readonly (readonly [string, unknown])[]): string[] {
  if (pairs.length === 0) return ["no limits"];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [key, count] of pairs) {
    if (!isLimitKey(key)) problems.push(`unknown limit ${JSON.stringify(key)}`);
    else if (seen.has(key)) problems.push(`${key} given twice`);
    else if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) problems.push(`${key} must be a positive integer`);
    seen.add(key);
  }
  return problems;
}

/** `key:count,…` as pairs; a count that is not all digits becomes NaN so it is reported. */
function splitLimits(text: string): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const sep = part.indexOf(":");
    const key = (sep < 0 ? part : part.slice(0, sep)).trim().toLowerCase();
    const raw = sep < 0 ? "" : part.slice(sep + 1).trim();
    pairs.push([key, /^\d+$/.test(raw) ? Number(raw) : NaN]);
  }
  return pairs;
}

interface Entry {
  model: string;
  pairs: [string, unknown][];
  /** How the entry is shown in an error: as written, or rebuilt from an object. */
  label: string;
}

function entriesOf(spec: string | LimitsSpec): Entry[] {
  if (typeof spec !== "string") {
    return Object.entries(spec).map(([model, limits]) => ({
      model, pairs: Object.entries(limits ?? {}), label: `${model}=${JSON.stringify(limits)}`,
    }));
  }
  return spec.split(";").filter((e) => e.trim() !== "").map((entry) => {
    const eq = entry.indexOf("=");
    const model = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    return { model, pairs: eq < 0 ? [] : splitLimits(entry.slice(eq + 1)), label: entry.trim() };
  });
}

/**
 * Parses SIM_LIMITS, or checks an already parsed object (tests pass either); throws one error
 * naming every bad part and showing the right form, so config fails fast.
 */
export function parseLimits(spec: string | LimitsSpec): LimitsSpec {
  const good = new Map<string, ModelLimits>();
  const bad: string[] = [];
  for (const { model, pairs, label } of entriesOf(spec)) {
    const problems = model === "" ? ["no model before \"=\""] : limitProblems(pairs);
    if (good.has(model)) problems.push(`model ${JSON.stringify(model)} given twice`);
    if (problems.length > 0) bad.push(`${JSON.stringify(label)} (${problems.join(", ")})`);
    else good.set(model, Object.fromEntries(pairs) as ModelLimits);
  }
  if (bad.length > 0) throw new Error(`Invalid SIM_LIMITS: ${bad.join("; ")}. ${FORM}`);
  // fromEntries defines own properties, so a model named "__proto__" stays a model.
  return Object.fromEntries(good);
}
