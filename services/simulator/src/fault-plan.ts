// Decides which request gets which fault. Markers win over rates. A marker's counter is keyed by
// the marker literal plus the full text of the message carrying it: the same prompt sent again
// (a retry, or the same turn replayed in a longer conversation) advances one counter, while a
// different prompt with the same marker starts its own.
import { findMarkers, pickFault, type Fault, type FaultRate } from "./faults.js";
import { createRng, hash32 } from "./rng.js";

export interface PlannedFault {
  fault: Fault;
  source: "marker" | "rate";
}

export interface FaultPlan {
  /** `sources` are the texts of the request's messages (system included) that contain a marker. */
  next(sources: readonly string[]): PlannedFault | undefined;
  reset(): void;
}

const MAX_TRACKED_MARKERS = 100_000;

export function createFaultPlan(rates: readonly FaultRate[], seed: string): FaultPlan {
  const seedHash = hash32(seed);
  const used = new Map<string, number>();
  let rolls = 0;

  const fromMarkers = (sources: readonly string[]): Fault | undefined => {
    for (const text of sources) {
      for (const marker of findMarkers(text)) {
        const key = `${marker.literal}\u0000${text}`;
        const count = used.get(key) ?? 0;
        if (count >= marker.times) continue;
        // Bounded so a long load run with unique marker prompts cannot grow memory without limit.
        if (used.size >= MAX_TRACKED_MARKERS && !used.has(key)) used.clear();
        used.set(key, count + 1);
        return marker.fault;
      }
    }
    return undefined;
  };

  return {
    next(sources) {
      const marked = sources.length > 0 ? fromMarkers(sources) : undefined;
      if (marked) return { fault: marked, source: "marker" };
      if (rates.length === 0) return undefined;
      // Seeded per request number: a run with the same seed and order of requests gets the same faults.
      const roll = createRng(hash32(String(rolls++), seedHash)).next();
      const fault = pickFault(rates, roll);
      return fault ? { fault, source: "rate" } : undefined;
    },
    reset() {
      used.clear();
      rolls = 0;
    },
  };
}
