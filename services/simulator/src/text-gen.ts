// Free text and schema-less JSON for simulated answers. Text is sentences of filler words with the
// prompt's own topical words mixed in, sized to a token target; JSON is built from the fields the
// prompt names. Pure: all randomness comes from the Rng.
import type { Rng } from "./rng.js";
import { fakeInstance } from "./schema-faker.js";
import { mentionedFields } from "./prompt-hints.js";
import { FILLER, OPENERS } from "./words.js";

const SENTENCES_PER_PARAGRAPH = 5;

function sentenceWith(rng: Rng, topics: readonly string[]): string {
  const count = rng.int(8, 16);
  let out = "";
  let prev = "";
  for (let i = 0; i < count; i++) {
    let word = topics.length > 0 && rng.chance(0.2) ? rng.pick(topics) : rng.pick(FILLER);
    if (word === prev) word = rng.pick(FILLER); // "the the" reads like a bug, not like a model
    prev = word;
    out += i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : " " + word;
  }
  return out + ".";
}

/** About `targetTokens` tokens (chars/4) of prose, ending on a full sentence. */
export function generateText(rng: Rng, topics: readonly string[], targetTokens: number): string {
  // Very short targets ("one word") would otherwise get a whole opener sentence.
  if (targetTokens <= 3) return topics[0] ?? rng.pick(FILLER);
  const targetChars = targetTokens * 4;
  let text = rng.pick(OPENERS);
  if (topics[0] !== undefined) text += ` Let's look at ${topics[0]}.`;
  let sentences = 0;
  while (text.length < targetChars) {
    sentences++;
    text += (sentences % SENTENCES_PER_PARAGRAPH === 0 ? "\n\n" : " ") + sentenceWith(rng, topics);
  }
  return text;
}

/** Cut to roughly `maxTokens` tokens, as a provider does when max_tokens is reached. */
export function truncateToTokens(text: string, maxTokens: number): string {
  return text.slice(0, Math.max(1, maxTokens) * 4);
}

/**
 * A JSON value for "answer in JSON" without a schema: the fields the prompt names ("with name, age
 * and email"), a list of such objects when it asks for N of them, else a summary object.
 */
export function jsonFromPrompt(rng: Rng, prompt: string, topics: readonly string[], count: number | undefined): unknown {
  const fields = mentionedFields(prompt);
  if (fields.length === 0) {
    const summary = sentenceWith(rng, topics);
    const base = { topic: topics[0] ?? "general", summary, keywords: topics.slice(0, 5) };
    if (count === undefined) return base;
    return { items: Array.from({ length: count }, (_, i) => ({ id: i + 1, text: sentenceWith(rng, topics) })) };
  }
  const itemSchema = { type: "object", properties: Object.fromEntries(fields.map((f) => [f, {}])) };
  if (count === undefined) return fakeInstance(itemSchema, { rng, words: topics });
  return fakeInstance({ type: "object", properties: { items: { type: "array", items: itemSchema } } }, { rng, words: topics, count });
}
