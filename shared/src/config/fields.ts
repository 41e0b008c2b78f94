/**
 * A tiny declarative reader for environment variables: each field names its variable, its default and how
 * to fix a bad value. Parsing collects every problem, so a misconfigured process fails once, listing all.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigIssue {
  variable: string;
  problem: string;
  fix: string;
}

export class FieldReader {
  readonly issues: ConfigIssue[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  str(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  optStr(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, def: number, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.issues.push({ variable: name, problem: `"${v}" is not an integer in [${min}, ${max}]`, fix: `set ${name} to an integer between ${min} and ${max}, or unset it for the default ${def}` });
      return def;
    }
    return n;
  }

  /** Unset is a choice of its own (none), not a default: the fix must not offer one. */
  optInt(name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.issues.push({ variable: name, problem: `"${v}" is not an integer in [${min}, ${max}]`, fix: `set ${name} to an integer between ${min} and ${max}, or unset it for none` });
      return undefined;
    }
    return n;
  }

  num(name: string, def: number, min: number, max: number = Number.MAX_VALUE): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.issues.push({ variable: name, problem: `"${v}" is not a number in [${min}, ${max}]`, fix: `set ${name} to a number between ${min} and ${max}, or unset it for the default ${def}` });
      return def;
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return def;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.issues.push({ variable: name, problem: `"${v}" is not a boolean`, fix: `set ${name} to true or false` });
    return def;
  }

  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if ((values as readonly string[]).includes(v)) return v as T;
    this.issues.push({ variable: name, problem: `"${v}" is not one of ${values.join(", ")}`, fix: `set ${name} to one of: ${values.join(", ")}` });
    return def;
  }

  url(name: string, def: string, protocols: readonly string[] = ["http:", "https:"]): string {
    const v = this.raw(name) ?? def;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error("protocol");
      return v.replace(/\/+$/, "");
    } catch {
      // Never echo a URL back: it may hold a password.
      this.issues.push({ variable: name, problem: "is not a valid URL", fix: `set ${name} to a ${protocols.join(" or ")} URL, e.g. ${def}` });
      return def;
    }
  }

  optUrl(name: string, protocols: readonly string[] = ["http:", "https:"]): string | undefined {
    if (this.raw(name) === undefined) return undefined;
    return this.url(name, "http://127.0.0.1", protocols);
  }

  problem(variable: string, problem: string, fix: string): void {
    this.issues.push({ variable, problem, fix });
  }
}
