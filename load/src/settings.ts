/** The bench scripts' settings from the environment, checked the same way by each. */

/** A whole number of at least 1, or `def` when unset or blank; anything else throws, naming the setting. */
export function positiveInt(raw: string | undefined, def: number, name: string): number {
  if (raw === undefined || raw.trim() === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1 (got "${raw}")`);
  return n;
}
