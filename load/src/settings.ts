/** The bench scripts' settings from the environment, checked the same way by each. */

/** A whole number of at least 1, or `def` when unset or blank; anything else throws, naming the setting. */
export function positiveInt(raw: string | undefined, def: number, name: string): number {
  if (raw === undefined || raw.trim() === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1 (got "${raw}")`);
  return n;
}

/**
 * The names a comma-separated setting picks out of `known`, in the order given; every name when unset or blank.
 * A name not in `known` throws, naming the setting and what it takes: a typo must not quietly run less.
 */
export function pickNames<T extends string>(raw: string | undefined, known: readonly T[], name: string): T[] {
  const wanted = (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) return [...known];
  const unknown = wanted.filter((w) => !(known as readonly string[]).includes(w));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.map((u) => `"${u}"`).join(", ")} (it takes ${known.join(", ")})`);
  return [...new Set(wanted)] as T[];
}
