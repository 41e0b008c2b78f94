/**
 * The body of the bench's structured requests, and an answer that fits its schema: the one shape that
 * load/wrk/structured_new_schema.lua sends, that `npm run bench`'s built-in generator sends when wrk is missing, and
 * that `npm run bench:schema` times (a test builds the Lua script's body and compares it with this one).
 *
 * `tag` goes into the prompt; `names` into the property names. With a new tag per request and `names` left to it,
 * every request carries a schema never seen before; with one fixed `names`, every request carries the same schema
 * while no two requests are the same (llmq's result cache answers none of them).
 */
export function structuredBody(tag: string, names: string = tag, model = "gpt-4o-mini"): string {
  return (
    `{"model":${JSON.stringify(model)},"prompt":"Generate user record ${tag} with a name, an age, up to three tags and an address","max_tokens":200,` +
    `"schema":{"type":"object","properties":{"name_${names}":{"type":"string"},"age_${names}":{"type":"integer","minimum":0,"maximum":130},` +
    `"tags_${names}":{"type":"array","items":{"type":"string"},"maxItems":3},` +
    `"address_${names}":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string"}},"required":["city"]}},` +
    `"required":["name_${names}","age_${names}"]}}`
  );
}

/** An answer that fits the schema of `structuredBody(…, names)`. */
export function structuredAnswer(names: string): string {
  return `{"name_${names}":"Ada Lovelace","age_${names}":36,"tags_${names}":["math","engines"],"address_${names}":{"city":"London","zip":"W1"}}`;
}
