import { setFlagsFromString } from "node:v8";

/**
 * How far the worker's heap may grow between full collections, set by how many calls it holds.
 *
 * The worker starts with `--heap-growing-percent=50` (node-flags.json): holding thousands of calls to a slow
 * provider, V8 would otherwise let the old generation grow to up to four times what survived the last full
 * collection (README "Memory of the worker and the API": peak RSS 470–497 MB with V8's defaults, 366 MB with the
 * worker's flags, 4,000 calls in flight). Holding few calls, the live heap is small and the bound buys little;
 * it makes full collections more frequent: 12–13 % of the worker's CPU per request at 50 connections, of which
 * growing by 100 % instead of 50 % gives back most (README "The heap's growth follows the calls held").
 *
 * Invariants:
 * - the start flag is the bound whenever it matters: it is relaxed (to RELAXED_PERCENT) only while the process
 *   holds at most RELAX_AT calls, and set back once it holds TIGHTEN_AT; a worker started without the flag, with
 *   0, or with RELAXED_PERCENT or more is left as it started and nothing is ever set;
 * - relaxed is still a bound (twice the live heap, not V8's own up to four times): V8 reads the flag when it sets
 *   its next limit, at the end of a full collection, so a burst of calls grows the heap up to the limit set while
 *   relaxed before the bound applies again; V8's own growth let that limit reach 625 MB of peak RSS in a bench
 *   round of 4,000 calls;
 * - the flag is written only when the mode changes (the two thresholds are far apart), never per job.
 * "Calls held" are the jobs BullMQ has handed this process and not yet moved on (the Workers' `held`): one provider
 * call each, or a few for a batch job of several items.
 */
export const RELAX_AT = 64;
export const TIGHTEN_AT = 256;
export const RELAXED_PERCENT = 100;

export interface HeapGrowth {
  /** A call is held from now on (BullMQ handed out a job). */
  enter(): void;
  /** A held call ended. */
  leave(): void;
  /** The mode now: "relaxed" (RELAXED_PERCENT), "bounded" (the start flag's), or "fixed" (left as it started). */
  readonly mode: "relaxed" | "bounded" | "fixed";
}

/** For a process left as it started: nothing to switch. */
export const FIXED_HEAP_GROWTH: HeapGrowth = { enter: () => undefined, leave: () => undefined, mode: "fixed" };

/** `--heap-growing-percent` (or `--heap_growing_percent`) as the process was started with it; undefined when absent or 0. */
export function startGrowingPercent(execArgv: readonly string[] = process.execArgv): number | undefined {
  let value: string | undefined;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const m = /^--heap[-_]growing[-_]percent(?:=(.*))?$/.exec(arg);
    if (m === null) continue;
    value = m[1] ?? execArgv[i + 1];
  }
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The policy for this process: relaxed at once (it holds nothing yet), bounded by `boundPercent` from TIGHTEN_AT
 * calls held until it is back at RELAX_AT. `setFlag` is V8's (`v8.setFlagsFromString`); tests pass their own.
 * `onChange` hears each switch (the worker logs it).
 */
export function createHeapGrowth(
  boundPercent: number | undefined = startGrowingPercent(),
  setFlag: (flag: string) => void = setFlagsFromString,
  onChange: (mode: HeapGrowth["mode"], held: number) => void = () => undefined,
): HeapGrowth {
  if (boundPercent === undefined || boundPercent >= RELAXED_PERCENT) return FIXED_HEAP_GROWTH;
  const relaxed = `--heap-growing-percent=${RELAXED_PERCENT}`;
  let held = 0;
  let mode: HeapGrowth["mode"] = "relaxed";
  setFlag(relaxed);
  return {
    enter() {
      held++;
      if (mode === "relaxed" && held >= TIGHTEN_AT) {
        mode = "bounded";
        setFlag(`--heap-growing-percent=${boundPercent}`);
        onChange(mode, held);
      }
    },
    leave() {
      held--;
      if (mode === "bounded" && held <= RELAX_AT) {
        mode = "relaxed";
        setFlag(relaxed);
        onChange(mode, held);
      }
    },
    get mode() {
      return mode;
    },
  };
}
