/** A bounded least-recently-used map on a Map's insertion order. `onEvict` sees every entry pushed out. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      const old = this.map.get(oldest) as V;
      this.map.delete(oldest);
      this.onEvict?.(oldest, old);
    }
  }

  /** Removes an entry without calling `onEvict`: the caller took it over. */
  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    for (const [k, v] of this.map) this.onEvict?.(k, v);
    this.map.clear();
  }
}
