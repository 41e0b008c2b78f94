// Reads what a prompt asks for: how many items ("a list of 5"), how long ("detailed", "in 50
// words"), whether JSON is wanted and which fields it names. Heuristics only; each regex is cheap
// and runs on the last user message, not the whole conversation.
import { classifyKey, type ValueKind } from "./plausible.js";
import { STOPWORDS } from "./words.js";

const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20, thirty: 30, forty: 40, fifty: 50, dozen: 12,
};
const NUM = "(\\d{1,4}|" + Object.keys(NUMBER_WORDS).join("|") + ")";

/** Plural nouns that measure length or time rather than count items. */
const UNITS = new Set([
  "words", "sentences", "characters", "chars", "tokens", "paragraphs", "lines", "seconds", "minutes",
  "hours", "days", "weeks", "months", "years", "times", "percent", "bytes", "kilobytes", "megabytes",
  "decimals", "digits", "letters", "syllables",
]);

const LIST_OF = new RegExp(`\\b(?:list|array|set|collection|series|group|total) of ${NUM}\\b`, "i");
const N_THINGS = new RegExp(`\\b${NUM}((?:\\s+[a-z][a-z-]*){1,4})`, "gi");

function toNumber(token: string): number {
  return NUMBER_WORDS[token.toLowerCase()] ?? Number(token);
}

function isPlural(word: string): boolean {
  return (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) || word === "people" || word === "children";
}

/** The number of items the prompt asks for, if it names one (1-1000). */
export function inferCount(text: string): number | undefined {
  const list = LIST_OF.exec(text);
  if (list?.[1]) {
    const n = toNumber(list[1]);
    if (n >= 1 && n <= 1000) return n;
  }
  N_THINGS.lastIndex = 0;
  for (let m = N_THINGS.exec(text); m; m = N_THINGS.exec(text)) {
    // "5 user objects", "seven fictional products": the first plural within four words is the noun.
    const noun = (m[2] ?? "").trim().toLowerCase().split(/\s+/).find(isPlural);
    if (noun === undefined || UNITS.has(noun)) continue;
    const n = toNumber(m[1] ?? "");
    if (n >= 1 && n <= 1000) return n;
  }
  return undefined;
}

export const DEFAULT_TEXT_TOKENS = 120;
export const DETAILED_TEXT_TOKENS = 300;
export const BRIEF_TEXT_TOKENS = 50;

const WORDS_RE = new RegExp(`\\b${NUM}[\\s-]*words?\\b`, "i");
const SENTENCES_RE = new RegExp(`\\b(${NUM.slice(1, -1)}|a|single)[\\s-]*sentences?\\b`, "i");
const PARAGRAPHS_RE = new RegExp(`\\b(${NUM.slice(1, -1)}|a|single)[\\s-]*paragraphs?\\b`, "i");
const DETAILED_RE = /\b(detailed|in detail|comprehensive|thorough|in-depth|essay|elaborate|extensive|long)\b/i;
const BRIEF_RE = /\b(brief|briefly|short|concise|quick|tl;?dr|one-liner|summari[sz]e)\b/i;

function countOf(token: string | undefined): number {
  if (!token || /^(a|single)$/i.test(token)) return 1;
  return toNumber(token);
}

/** How many tokens a natural answer to this prompt has, before any max_tokens cap. */
export function inferTargetTokens(text: string): number {
  const words = WORDS_RE.exec(text);
  if (words?.[1]) return Math.max(1, Math.round((toNumber(words[1]) * 4) / 3));
  const sentences = SENTENCES_RE.exec(text);
  if (sentences) return countOf(sentences[1]) * 20;
  const paragraphs = PARAGRAPHS_RE.exec(text);
  if (paragraphs) return countOf(paragraphs[1]) * 90;
  if (DETAILED_RE.test(text)) return DETAILED_TEXT_TOKENS;
  if (BRIEF_RE.test(text)) return BRIEF_TEXT_TOKENS;
  return DEFAULT_TEXT_TOKENS;
}

export function wantsJson(text: string): boolean {
  return /\bjson\b/i.test(text);
}

const WORD_RE = /[A-Za-z][A-Za-z'-]{3,}/g;

/** Distinct content words of the prompt, in order: filler text and plain strings draw on them. */
export function topicalWords(text: string, max = 12): string[] {
  const out: string[] = [];
  WORD_RE.lastIndex = 0;
  for (let m = WORD_RE.exec(text); m && out.length < max; m = WORD_RE.exec(text)) {
    const w = m[0].toLowerCase();
    if (!STOPWORDS.has(w) && !out.includes(w)) out.push(w);
  }
  return out;
}

const FIELD_KINDS = new Set<ValueKind>([
  "first_name", "last_name", "full_name", "username", "email", "phone", "city", "street", "address",
  "zip", "country", "state", "company", "job_title", "url", "age", "price", "rating", "year", "title",
  "date",
]);
const FIELD_RE = /[A-Za-z_]{2,}/g;

/** Field names a free-form JSON request mentions ("with name, age, and email"), in order. */
export function mentionedFields(text: string): string[] {
  const out: string[] = [];
  FIELD_RE.lastIndex = 0;
  for (let m = FIELD_RE.exec(text); m && out.length < 16; m = FIELD_RE.exec(text)) {
    const w = m[0].toLowerCase();
    if (!out.includes(w) && FIELD_KINDS.has(classifyKey(w))) out.push(w);
  }
  return out;
}
