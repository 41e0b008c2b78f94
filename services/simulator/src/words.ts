// Word lists for fake data and filler text. Fixed arrays (not generated) so output is stable across
// versions of the simulator as long as this file does not change.

export const FIRST_NAMES = [
  "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia", "Tim",
  "Frances", "Donald", "Katherine", "John", "Hedy", "Edsger", "Sophie", "Niklaus", "Karen", "Guido",
  "Maria", "James", "Elena", "David", "Priya", "Lucas", "Amara", "Noah", "Yuki", "Omar",
  "Chloe", "Mateo", "Ingrid", "Samuel", "Leila", "Victor", "Hannah", "Diego", "Mei", "Oliver",
] as const;

export const LAST_NAMES = [
  "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Perlman",
  "Berners-Lee", "Allen", "Knuth", "Johnson", "McCarthy", "Lamarr", "Dijkstra", "Wilson", "Wirth",
  "Jones", "Rossum", "Garcia", "Smith", "Petrova", "Miller", "Sharma", "Martin", "Okafor", "Brown",
  "Tanaka", "Haddad", "Dubois", "Silva", "Larsen", "Cohen", "Nasser", "Novak", "Schmidt", "Lopez",
  "Chen", "Walker",
] as const;

export const CITIES = [
  "Springfield", "Portland", "Austin", "Denver", "Boston", "Seattle", "Chicago", "Madison", "Oakland",
  "Raleigh", "Toronto", "Dublin", "Lisbon", "Berlin", "Lyon", "Utrecht", "Melbourne", "Auckland",
  "Osaka", "Vancouver",
] as const;

export const STREETS = [
  "Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street", "Pine Road", "Lake View",
  "Hillcrest Avenue", "Sunset Boulevard", "River Road", "Park Place", "Church Street", "Mill Lane",
  "Highland Avenue", "Willow Way",
] as const;

export const COUNTRIES = [
  "United States", "Canada", "United Kingdom", "Ireland", "Germany", "France", "Portugal",
  "Netherlands", "Australia", "New Zealand", "Japan", "Spain", "Italy", "Sweden", "Brazil",
] as const;

export const COUNTRY_CODES = ["US", "CA", "GB", "IE", "DE", "FR", "PT", "NL", "AU", "NZ", "JP", "ES"] as const;

export const STATES = ["CA", "OR", "TX", "CO", "MA", "WA", "IL", "WI", "NC", "NY"] as const;

export const COMPANIES = [
  "Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries", "Wayne Enterprises",
  "Hooli", "Vandelay Industries", "Soylent Co", "Wonka Industries", "Cyberdyne Systems", "Tyrell Corp",
] as const;

export const JOB_TITLES = [
  "Software Engineer", "Product Manager", "Data Scientist", "Designer", "Site Reliability Engineer",
  "Technical Writer", "Engineering Manager", "Research Scientist", "Accountant", "Teacher",
] as const;

export const DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"] as const;

export const COLORS = ["red", "blue", "green", "purple", "orange", "teal", "black", "white"] as const;

/** Filler vocabulary for free text; topical words from the prompt are mixed in between these. */
export const FILLER = [
  "the", "system", "provides", "a", "clear", "approach", "to", "every", "important", "detail",
  "and", "it", "helps", "teams", "build", "reliable", "results", "with", "simple", "steps",
  "this", "makes", "each", "part", "easy", "understand", "while", "keeping", "quality", "high",
  "in", "practice", "most", "people", "find", "that", "good", "design", "matters", "more",
  "than", "raw", "speed", "over", "time", "small", "changes", "add", "up", "significant",
  "value", "for", "users", "as", "well", "modern", "tools", "support", "fast", "iteration",
  "careful", "planning", "reduces", "risk", "of", "unexpected", "problems", "later", "on", "when",
  "needs", "grow", "can", "adapt", "without", "losing", "focus", "the", "core", "idea",
  "remains", "same", "strong", "foundation", "enables", "future", "growth", "across", "many",
  "different", "areas", "including", "performance", "security", "usability", "cost", "overall",
] as const;

export const OPENERS = [
  "Here is an overview.", "Certainly.", "Great question.", "In short,", "To summarize,",
  "Here is what you need to know.", "Sure.",
] as const;

/** Words that carry no topic: excluded when picking topical words from a prompt. */
export const STOPWORDS = new Set([
  "the", "and", "for", "with", "that", "this", "from", "into", "about", "what", "which", "when",
  "where", "your", "you", "are", "was", "were", "have", "has", "had", "will", "would", "could",
  "should", "there", "their", "them", "they", "then", "than", "some", "more", "most", "also",
  "just", "like", "please", "write", "generate", "give", "tell", "make", "create", "list", "describe",
  "explain", "provide", "return", "using", "only", "very", "each", "other", "such", "does", "did",
  "been", "being", "these", "those", "here", "json", "format", "object", "objects", "words", "word",
  "simple", "complex", "detailed", "short", "brief", "helpful", "assistant", "answer", "respond",
  "user", "users", "following", "based", "must", "sure", "response", "output", "valid", "schema",
]);
