// Counters of what the simulator served, readable at GET /__sim/stats: tests assert on them (the
// "calls the provider received" outcome) and load runs compare them with llmq's own numbers.
// Plain objects and integer increments only: this is on every request's path.
import type { FaultKind } from "./faults.js";
import type { LimitCounts, LimitsSnapshot } from "./rate-limits.js";
import type { Provider } from "./sim-request.js";

export interface SimStats {
  /** Requests to provider routes (everything but /__sim/*). */
  total: number;
  by_provider: Record<Provider, number>;
  /** Keyed `provider.route`, e.g. `openai.chat_completions`, `anthropic.messages`, `groq.models`. */
  by_route: Record<string, number>;
  /** Keyed by HTTP status as a string; hung requests have none and are not counted here. */
  by_status: Record<string, number>;
  /** Every injected fault, from rates or markers, by kind. */
  faults: Partial<Record<FaultKind, number>>;
  /** The subset of `faults` triggered by `[[sim:…]]` prompt markers. */
  markers: Partial<Record<FaultKind, number>>;
  /** Responses sent as SSE streams. */
  streams: number;
  /** Requests currently held open by a `hang` fault. */
  hanging: number;
  /** SIM_LIMITS counts keyed `provider:model`, for the models that have limits and were asked for. */
  limits: Record<string, LimitCounts>;
  /** Requests refused by SIM_LIMITS (a 429 fault from SIM_FAULTS or a marker is not counted here). */
  rate_limited: number;
}

export interface StatsBook {
  request(provider: Provider, route: string): void;
  status(code: number): void;
  fault(kind: FaultKind, fromMarker: boolean): void;
  stream(): void;
  snapshot(hanging: number, limits: LimitsSnapshot): SimStats;
  reset(): void;
}

function bump<K extends string>(record: Partial<Record<K, number>>, key: K): void {
  record[key] = (record[key] ?? 0) + 1;
}

export function createStatsBook(): StatsBook {
  let s = empty();
  function empty(): SimStats {
    return {
      total: 0, by_provider: { openai: 0, anthropic: 0, groq: 0 }, by_route: {}, by_status: {},
      faults: {}, markers: {}, streams: 0, hanging: 0, limits: {}, rate_limited: 0,
    };
  }
  return {
    request(provider, route) {
      s.total++;
      s.by_provider[provider]++;
      bump(s.by_route, route);
    },
    status(code) {
      bump(s.by_status, String(code));
    },
    fault(kind, fromMarker) {
      bump(s.faults, kind);
      if (fromMarker) bump(s.markers, kind);
    },
    stream() {
      s.streams++;
    },
    snapshot(hanging, limits) {
      return structuredClone({ ...s, hanging, ...limits });
    },
    reset() {
      s = empty();
    },
  };
}
