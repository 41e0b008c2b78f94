// Best-effort strings for JSON Schema `pattern`: a tiny generator over the regex subset schemas use
// in practice (literals, classes, groups, alternation, quantifiers). Anything fancier (lookaround,
// backreferences) gives up and returns undefined; callers fall back to a plain string. Never throws.
import type { Rng } from "./rng.js";

type Node =
  | { t: "lit"; s: string }
  | { t: "set"; chars: string }
  | { t: "alt"; options: Node[][] }
  | { t: "rep"; node: Node; min: number; max: number };

class Unsupported extends Error {}

const DIGITS = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const WORD = LOWER + UPPER + DIGITS + "_";
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const EXTRA_REPEAT = 3;

function classEscape(c: string): string | undefined {
  switch (c) {
    case "d": return DIGITS;
    case "w": return WORD;
    case "s": return " ";
    case "D": return LOWER;
    case "W": return "-";
    case "S": return LOWER;
    default: return undefined;
  }
}

function literalEscape(c: string): string {
  switch (c) {
    case "n": return "\n";
    case "t": return "\t";
    case "r": return "\r";
    case "f": return "\f";
    case "v": return "\v";
    case "0": return "\0";
    default: return c;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Node[][] {
    const alt = this.alternation();
    if (this.i < this.src.length) throw new Unsupported("trailing input");
    return alt;
  }

  private alternation(): Node[][] {
    const options: Node[][] = [this.sequence()];
    while (this.src[this.i] === "|") {
      this.i++;
      options.push(this.sequence());
    }
    return options;
  }

  private sequence(): Node[] {
    const seq: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const atom = this.atom();
      if (atom) seq.push(this.quantified(atom));
    }
    return seq;
  }

  private atom(): Node | undefined {
    const c = this.src[this.i++] as string;
    if (c === "^" || c === "$") return undefined;
    if (c === ".") return { t: "set", chars: LOWER };
    if (c === "[") return { t: "set", chars: this.charClass() };
    if (c === "(") {
      if (this.src[this.i] === "?") {
        const next = this.src[this.i + 1];
        if (next === ":") this.i += 2;
        else if (next === "<" && this.src[this.i + 2] !== "=" && this.src[this.i + 2] !== "!") {
          const close = this.src.indexOf(">", this.i);
          if (close < 0) throw new Unsupported("group name");
          this.i = close + 1;
        } else throw new Unsupported("lookaround");
      }
      const options = this.alternation();
      if (this.src[this.i++] !== ")") throw new Unsupported("unclosed group");
      return { t: "alt", options };
    }
    if (c === "\\") return this.escape();
    return { t: "lit", s: c };
  }

  private escape(): Node | undefined {
    const c = this.src[this.i++];
    if (c === undefined) throw new Unsupported("dangling escape");
    if (c === "b" || c === "B") return undefined;
    if (/[1-9]/.test(c)) throw new Unsupported("backreference");
    if (c === "p" || c === "P") {
      const close = this.src.indexOf("}", this.i);
      if (close < 0) throw new Unsupported("property");
      this.i = close + 1;
      return { t: "set", chars: LOWER };
    }
    if (c === "u" || c === "x") return { t: "lit", s: this.hexEscape(c) };
    const set = classEscape(c);
    return set ? { t: "set", chars: set } : { t: "lit", s: literalEscape(c) };
  }

  private hexEscape(kind: string): string {
    if (kind === "u" && this.src[this.i] === "{") {
      const close = this.src.indexOf("}", this.i);
      const code = parseInt(this.src.slice(this.i + 1, close), 16);
      this.i = close + 1;
      return String.fromCodePoint(code);
    }
    const len = kind === "u" ? 4 : 2;
    const code = parseInt(this.src.slice(this.i, this.i + len), 16);
    if (Number.isNaN(code)) throw new Unsupported("hex escape");
    this.i += len;
    return String.fromCharCode(code);
  }

  private classChar(): { chars: string; single?: string } {
    const c = this.src[this.i++];
    if (c === undefined) throw new Unsupported("unclosed class");
    if (c !== "\\") return { chars: c, single: c };
    const e = this.src[this.i++];
    if (e === undefined) throw new Unsupported("dangling escape");
    const set = classEscape(e);
    if (set) return { chars: set };
    const lit = e === "u" || e === "x" ? this.hexEscape(e) : literalEscape(e);
    return { chars: lit, single: lit };
  }

  private charClass(): string {
    const negated = this.src[this.i] === "^";
    if (negated) this.i++;
    let chars = "";
    while (this.src[this.i] !== "]") {
      if (this.i >= this.src.length) throw new Unsupported("unclosed class");
      const from = this.classChar();
      if (from.single !== undefined && this.src[this.i] === "-" && this.src[this.i + 1] !== "]") {
        this.i++;
        const to = this.classChar();
        if (to.single === undefined) throw new Unsupported("bad range");
        const a = from.single.codePointAt(0) ?? 0;
        const b = Math.min(to.single.codePointAt(0) ?? 0, a + 200);
        for (let code = a; code <= b; code++) chars += String.fromCodePoint(code);
      } else chars += from.chars;
    }
    this.i++;
    if (!negated) return chars || LOWER;
    const allowed = [...PRINTABLE].filter((ch) => !chars.includes(ch) && ch !== " ").join("");
    return allowed || "a";
  }

  private quantified(node: Node): Node {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === "?") [min, max] = [0, 1];
    else if (c === "*") [min, max] = [0, EXTRA_REPEAT];
    else if (c === "+") [min, max] = [1, 1 + EXTRA_REPEAT];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return node;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] ? Number(m[3]) : min + EXTRA_REPEAT;
      this.i += m[0].length - 1;
    } else return node;
    this.i++;
    if (this.src[this.i] === "?" || this.src[this.i] === "+") this.i++;
    return { t: "rep", node, min, max: Math.min(max, min + 50) };
  }
}

function emit(nodes: readonly Node[], rng: Rng, out: string[]): void {
  for (const node of nodes) {
    switch (node.t) {
      case "lit": out.push(node.s); break;
      case "set": out.push(node.chars[rng.int(0, node.chars.length - 1)] ?? "a"); break;
      case "alt": emit(rng.pick(node.options), rng, out); break;
      case "rep": {
        const n = rng.int(node.min, node.max);
        for (let k = 0; k < n; k++) emit([node.node], rng, out);
        break;
      }
    }
  }
}

const astCache = new Map<string, Node[][] | null>();
const regexCache = new Map<string, RegExp | null>();

/** The pattern as ECMA-262 with the `u` flag, as JSON Schema specifies; null when it does not compile. */
export function compilePattern(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, "u");
    } catch {
      try { re = new RegExp(pattern); } catch { re = null; }
    }
    if (regexCache.size < 1000) regexCache.set(pattern, re);
  }
  return re;
}

/** A string matching `pattern`, or undefined if the generator cannot produce one. */
export function stringForPattern(pattern: string, rng: Rng): string | undefined {
  let ast = astCache.get(pattern);
  if (ast === undefined) {
    try { ast = new Parser(pattern).parse(); } catch { ast = null; }
    if (astCache.size < 1000) astCache.set(pattern, ast);
  }
  const re = compilePattern(pattern);
  if (!ast || !re) return undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const out: string[] = [];
    try { emit([{ t: "alt", options: ast }], rng, out); } catch { return undefined; }
    const s = out.join("");
    if (re.test(s)) return s;
  }
  return undefined;
}
