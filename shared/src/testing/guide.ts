/**
 * The performance guide's requests (seed/performance-testing-guide.md), exactly as written there: one copy for
 * every test that sends them or checks against them.
 */
/** "Structured vs Unstructured Comparison" (gpt-4): a user with an address; also the array case's item. */
const PROFILE = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    email: { type: "string" },
    address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: "string" } } },
  },
} as const;

export const GUIDE_SCHEMAS = {
  /** "Simple JSON Object" (gpt-3.5-turbo). */
  simple: {
    type: "object",
    properties: { name: { type: "string" }, age: { type: "integer" }, email: { type: "string" } },
  },
  /** "Nested JSON Object" (claude-2). */
  nested: {
    type: "object",
    properties: {
      user: {
        type: "object",
        properties: {
          personal: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } } },
          contact: { type: "object", properties: { email: { type: "string" }, phone: { type: "string" } } },
        },
      },
    },
  },
  /** "Array of Objects" (gpt-4). */
  array: { type: "array", items: PROFILE },
  profile: PROFILE,
} as const;

/** The guide's curl bodies. */
export const GUIDE_REQUESTS = {
  simple: { model: "gpt-3.5-turbo", prompt: "Generate a simple user object with name, age, and email", schema: GUIDE_SCHEMAS.simple },
  nested: { model: "claude-2", prompt: "Generate a complex user profile with nested objects", schema: GUIDE_SCHEMAS.nested },
  array: { model: "gpt-4", prompt: "Generate a list of 5 user objects", schema: GUIDE_SCHEMAS.array },
  unstructured: { model: "llama3-8b-8192", prompt: "Write a detailed product description for a smartphone", max_tokens: 500 },
  conversation: {
    model: "gpt-4",
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Tell me about the solar system." },
      { role: "assistant", content: "The solar system consists of the Sun and everything that orbits around it..." },
      { role: "user", content: "What about the planets?" },
    ],
    max_tokens: 500,
  },
  comparisonStructured: { model: "gpt-4", prompt: "Generate a user profile with name, age, email, and address", schema: GUIDE_SCHEMAS.profile },
  comparisonUnstructured: { model: "gpt-4", prompt: "Generate a user profile with name, age, email, and address in JSON format", max_tokens: 500 },
} as const;
