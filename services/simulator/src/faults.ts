// Fault syntax, parsed once and pure (the state that decides which request gets which fault lives
// in fault-plan.ts). Two sources of faults:
//   rates   `SIM_FAULTS="429:0.2,500:0.05,hang:0.01"` (optionally `429@200ms:0.1` for retry-after)
//   markers `[[sim:429]]`, `[[sim:500x3]]`, `[[sim:bad-schemaxall]]`, `[[sim:429@2s]]` in a prompt

export const FAULT_KINDS = ["429", "500", "529", "503", "400", "401", "quota", "hang", "invalid-json", "bad-schema"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** For 429: the retry-after to announce; undefined means the simulator's default. */
  retryAfterMs?: number | undefined;
}

export interface FaultRate {
  fault: Fault;
  /** Probability in [0, 1] that a request gets this fault. */
  rate: number;
}

export interface Marker {
  fault: Fault;
  /** How many calls carrying the prompt get the fault; Infinity for `xall`. */
  times: number;
  /** The marker literal, part of the key its counter is stored under. */
  literal: string;
}

const ALIASES: Record<string, FaultKind> = { timeout: "hang", invalid_json: "invalid-json", bad_schema: "bad-schema" };

function toKind(raw: string): FaultKind | undefined {
  const k = raw.trim().toLowerCase();
  if ((FAULT_KINDS as readonly string[]).includes(k)) return k as FaultKind;
  return Object.hasOwn(ALIASES, k) ? ALIASES[k] : undefined;
}

function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/i.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2]?.toLowerCase() === "ms" ? n : n * 1000;
}

function parseFault(raw: string): Fault | undefined {
  const [kindPart = "", delayPart] = raw.split("@");
  const kind = toKind(kindPart);
  if (!kind) return undefined;
  if (delayPart === undefined) return { kind };
  const retryAfterMs = parseDuration(delayPart);
  return retryAfterMs === undefined || kind !== "429" ? undefined : { kind, retryAfterMs };
}

/** Parses `kind[@delay]:rate,…`; throws one error naming every bad entry, so config fails fast. */
export function parseFaults(spec: string): FaultRate[] {
  const out: FaultRate[] = [];
  const bad: string[] = [];
  for (const entry of spec.split(",")) {
    if (entry.trim() === "") continue;
    const sep = entry.lastIndexOf(":");
    const fault = sep > 0 ? parseFault(entry.slice(0, sep)) : undefined;
    const rate = sep > 0 ? Number(entry.slice(sep + 1).trim()) : NaN;
    if (!fault || !Number.isFinite(rate) || rate < 0 || rate > 1) bad.push(entry.trim());
    else if (rate > 0) out.push({ fault, rate });
  }
  if (bad.length > 0) {
    throw new Error(
      `Invalid SIM_FAULTS entries: ${bad.map((b) => JSON.stringify(b)).join(", ")}. ` +
        `Expected comma-separated kind:rate with rate in [0,1] and kind one of ${FAULT_KINDS.join(", ")}, timeout ` +
        `(429 may carry a retry-after: "429@200ms:0.1"), e.g. "429:0.2,500:0.05,hang:0.01".`,
    );
  }
  return out;
}

/** The fault a uniform `roll` in [0, 1) lands on; rates stack, so their sum is the total fault rate. */
export function pickFault(rates: readonly FaultRate[], roll: number): Fault | undefined {
  let acc = 0;
  for (const { fault, rate } of rates) {
    acc += rate;
    if (roll < acc) return fault;
  }
  return undefined;
}

export const MARKER_PREFIX = "[[sim:";
const MARKER_RE = /\[\[sim:(429|500|529|503|400|401|quota|hang|timeout|invalid-json|bad-schema)(?:@(\d+(?:\.\d+)?(?:ms|s)?))?(?:x(\d+|all))?\]\]/gi;

/** The markers in a text, in order of appearance. Cheap when there are none. */
export function findMarkers(text: string): Marker[] {
  if (!text.includes(MARKER_PREFIX)) return [];
  const out: Marker[] = [];
  MARKER_RE.lastIndex = 0;
  for (let m = MARKER_RE.exec(text); m; m = MARKER_RE.exec(text)) {
    const kind = toKind(m[1] ?? "");
    if (!kind) continue;
    const retryAfterMs = m[2] !== undefined && kind === "429" ? parseDuration(m[2]) : undefined;
    const times = m[3] === undefined ? 1 : m[3].toLowerCase() === "all" ? Infinity : Number(m[3]);
    out.push({ fault: { kind, retryAfterMs }, times, literal: m[0] });
  }
  return out;
}

/** The text without its markers, so they do not leak into generated answers. */
export function stripMarkers(text: string): string {
  if (!text.includes(MARKER_PREFIX)) return text;
  return text.replace(MARKER_RE, "").replace(/\s{2,}/g, " ").trim();
}
