// Determinism lives here: every answer is a pure function of (options.seed, request bytes), so the
// same request always gets the same body. Hash and PRNG are tiny on purpose: they run per request
// and the simulator is the throughput ceiling llmq is benchmarked against.

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so near-identical prompts spread apart. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
}

/** mulberry32: 32-bit state, good enough statistically for fake data and fault rolls. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => (max <= min ? min : min + Math.floor(next() * (max - min + 1))),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (probability) => next() < probability,
  };
}

const ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Provider-looking ids (`chatcmpl-…`, `msg_…`) derived from a hash, so they are reproducible too. */
export function makeId(prefix: string, seed: number, length: number): string {
  const rng = createRng(seed);
  let id = prefix;
  for (let i = 0; i < length; i++) id += ID_ALPHABET[Math.floor(rng.next() * 62)];
  return id;
}
