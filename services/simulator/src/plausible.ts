// Plausible values chosen from a property's name ("email" looks like an email, "age" is 18-90),
// so simulated structured output reads like a model's and not like random noise. Classification is
// cached per key: schemas repeat the same property names across requests.
import type { Rng } from "./rng.js";
import {
  CITIES, COLORS, COMPANIES, COUNTRIES, COUNTRY_CODES, DOMAINS, FILLER, FIRST_NAMES, JOB_TITLES,
  LAST_NAMES, STATES, STREETS,
} from "./words.js";

export type ValueKind =
  | "first_name" | "last_name" | "full_name" | "username" | "email" | "phone" | "city" | "street"
  | "address" | "zip" | "country" | "country_code" | "state" | "company" | "job_title" | "url"
  | "id" | "title" | "sentence" | "date" | "date_time" | "color" | "word" | "currency" | "language"
  | "status" | "age" | "price" | "rating" | "score" | "quantity" | "year" | "latitude" | "longitude"
  | "percent" | "none";

export interface Person {
  first: string;
  last: string;
}

const EXACT: Record<string, ValueKind> = {
  first_name: "first_name", firstname: "first_name", given_name: "first_name", forename: "first_name",
  last_name: "last_name", lastname: "last_name", surname: "last_name", family_name: "last_name",
  name: "full_name", full_name: "full_name", fullname: "full_name", display_name: "full_name",
  author: "full_name", owner: "full_name", customer: "full_name", person: "full_name", contact_name: "full_name",
  username: "username", user_name: "username", handle: "username", login: "username", screen_name: "username",
  email: "email", email_address: "email", mail: "email",
  phone: "phone", phone_number: "phone", mobile: "phone", telephone: "phone", tel: "phone", cell: "phone",
  city: "city", town: "city",
  street: "street", street_address: "street", address_line: "street", address_line1: "street", line1: "street",
  address: "address",
  zip: "zip", zipcode: "zip", zip_code: "zip", postal_code: "zip", postcode: "zip", postal: "zip",
  country: "country", country_code: "country_code",
  state: "state", province: "state", region: "state",
  company: "company", company_name: "company", organization: "company", organisation: "company",
  employer: "company", brand: "company",
  job_title: "job_title", occupation: "job_title", position: "job_title", role: "job_title",
  profession: "job_title", job: "job_title",
  url: "url", website: "url", homepage: "url", link: "url", uri: "url", avatar: "url", image: "url", photo: "url",
  id: "id", uuid: "id", guid: "id",
  title: "title", headline: "title", subject: "title", heading: "title",
  description: "sentence", summary: "sentence", bio: "sentence", about: "sentence", content: "sentence",
  body: "sentence", text: "sentence", comment: "sentence", review: "sentence", message: "sentence",
  note: "sentence", notes: "sentence", details: "sentence", reason: "sentence", explanation: "sentence",
  answer: "sentence", overview: "sentence", reasoning: "sentence", feedback: "sentence",
  date: "date", birthdate: "date", birthday: "date", dob: "date", date_of_birth: "date", day: "date",
  timestamp: "date_time", datetime: "date_time", created: "date_time", updated: "date_time",
  color: "color", colour: "color",
  currency: "currency", language: "language", locale: "language", status: "status",
  age: "age", price: "price", cost: "price", amount: "price", total: "price", salary: "price",
  balance: "price", fee: "price", revenue: "price", subtotal: "price",
  rating: "rating", stars: "rating", score: "score", quantity: "quantity", count: "quantity",
  qty: "quantity", stock: "quantity", year: "year", lat: "latitude", latitude: "latitude",
  lng: "longitude", lon: "longitude", longitude: "longitude", percent: "percent", percentage: "percent",
  tag: "word", keyword: "word", hobby: "word", skill: "word", interest: "word", category: "word",
  topic: "word", label: "word", type: "word", kind: "word", genre: "word", tags: "word",
  keywords: "word", hobbies: "word", skills: "word", interests: "word",
};

const SUFFIXES: ReadonlyArray<readonly [string, ValueKind]> = [
  ["_email", "email"], ["_phone", "phone"], ["_url", "url"], ["_uri", "url"], ["_id", "id"],
  ["_uuid", "id"], ["_date", "date"], ["_at", "date_time"], ["_time", "date_time"], ["_name", "full_name"],
  ["_city", "city"], ["_country", "country"], ["_price", "price"], ["_amount", "price"],
  ["_count", "quantity"], ["_title", "title"], ["_description", "sentence"], ["_address", "address"],
];

const LONG_WORDS = FILLER.filter((w) => w.length > 4);

const kindCache = new Map<string, ValueKind>();

/** `firstName`, `first-name` and `First Name` all classify as `first_name`. */
export function classifyKey(key: string): ValueKind {
  const cached = kindCache.get(key);
  if (cached !== undefined) return cached;
  const norm = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(/[\s-]+/g, "_");
  let kind: ValueKind = Object.hasOwn(EXACT, norm) ? (EXACT[norm] as ValueKind) : "none";
  if (kind === "none") {
    for (const [suffix, k] of SUFFIXES) {
      if (norm.endsWith(suffix)) { kind = k; break; }
    }
    if (kind === "none" && (norm.startsWith("num_") || norm.startsWith("number_of_"))) kind = "quantity";
  }
  if (kindCache.size < 10_000) kindCache.set(key, kind);
  return kind;
}

/** Array items are named after their parent's singular: `emails` -> `email`, `hobbies` -> `hobby`. */
export function singularKey(key: string): string {
  if (key.endsWith("ies") && key.length > 4) return key.slice(0, -3) + "y";
  if (/(ss|x|ch|sh)es$/.test(key)) return key.slice(0, -2);
  if (key.endsWith("s") && !key.endsWith("ss") && key.length > 2) return key.slice(0, -1);
  return key;
}

export function newPerson(rng: Rng): Person {
  return { first: rng.pick(FIRST_NAMES), last: rng.pick(LAST_NAMES) };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function hex(rng: Rng, count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) out += "0123456789abcdef"[rng.int(0, 15)];
  return out;
}

export function fakeUuid(rng: Rng): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${"89ab"[rng.int(0, 3)]}${hex(rng, 3)}-${hex(rng, 12)}`;
}

export function fakeDate(rng: Rng): string {
  return `${rng.int(1970, 2024)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}`;
}

export function fakeDateTime(rng: Rng): string {
  return `${rng.int(2019, 2025)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}T${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}Z`;
}

export function sentence(rng: Rng, minWords = 6, maxWords = 12): string {
  const count = rng.int(minWords, maxWords);
  let out = "";
  for (let i = 0; i < count; i++) out += (i === 0 ? "" : " ") + rng.pick(FILLER);
  return out.charAt(0).toUpperCase() + out.slice(1) + ".";
}

function titleCase(rng: Rng): string {
  const count = rng.int(2, 5);
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = rng.pick(FILLER);
    words.push(w.charAt(0).toUpperCase() + w.slice(1));
  }
  return words.join(" ");
}

function handleOf(p: Person): string {
  return `${p.first}.${p.last}`.toLowerCase().replace(/[^a-z.]/g, "");
}

/** A string that fits a JSON Schema `format`; undefined for formats the simulator does not know. */
export function formatString(format: string, rng: Rng, person: () => Person): string | undefined {
  switch (format) {
    case "email": case "idn-email": return `${handleOf(person())}@${rng.pick(DOMAINS)}`;
    case "date": return fakeDate(rng);
    case "date-time": return fakeDateTime(rng);
    case "time": return `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}Z`;
    case "uri": case "url": case "iri": case "uri-reference": case "iri-reference":
      return `https://www.${rng.pick(DOMAINS)}/${rng.pick(FILLER)}`;
    case "uuid": return fakeUuid(rng);
    case "ipv4": return `${rng.int(10, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    case "ipv6": return `2001:db8:${hex(rng, 4)}:${hex(rng, 4)}::${hex(rng, 4)}`;
    case "hostname": case "idn-hostname": return `${rng.pick(FILLER)}.${rng.pick(DOMAINS)}`;
    case "duration": return `P${rng.int(1, 30)}D`;
    case "json-pointer": return `/${rng.pick(FILLER)}`;
    case "regex": return "^[a-z]+$";
    default: return undefined;
  }
}

/** A string that looks right for the kind; undefined when the name says nothing useful. */
export function plausibleString(kind: ValueKind, rng: Rng, person: () => Person): string | undefined {
  switch (kind) {
    case "first_name": return person().first;
    case "last_name": return person().last;
    case "full_name": { const p = person(); return `${p.first} ${p.last}`; }
    case "username": return handleOf(person()).replace(".", "_") + rng.int(1, 99);
    case "email": return `${handleOf(person())}@${rng.pick(DOMAINS)}`;
    case "phone": return `+1-555-${pad(rng.int(100, 999), 3)}-${pad(rng.int(0, 9999), 4)}`;
    case "city": return rng.pick(CITIES);
    case "street": return `${rng.int(1, 9999)} ${rng.pick(STREETS)}`;
    case "address": return `${rng.int(1, 9999)} ${rng.pick(STREETS)}, ${rng.pick(CITIES)}`;
    case "zip": return pad(rng.int(10000, 99999), 5);
    case "country": return rng.pick(COUNTRIES);
    case "country_code": return rng.pick(COUNTRY_CODES);
    case "state": return rng.pick(STATES);
    case "company": return rng.pick(COMPANIES);
    case "job_title": return rng.pick(JOB_TITLES);
    case "url": return `https://www.${rng.pick(DOMAINS)}/${rng.pick(FILLER)}`;
    case "id": return fakeUuid(rng);
    case "title": return titleCase(rng);
    case "sentence": return sentence(rng);
    case "date": return fakeDate(rng);
    case "date_time": return fakeDateTime(rng);
    case "color": return rng.pick(COLORS);
    case "word": return rng.pick(LONG_WORDS);
    case "currency": return rng.pick(["USD", "EUR", "GBP", "JPY", "CAD"]);
    case "language": return rng.pick(["English", "Spanish", "French", "German", "Japanese"]);
    case "status": return rng.pick(["active", "pending", "inactive"]);
    default: return undefined;
  }
}

/** For schemas without a `type`: the JSON type a property of this kind most likely has. */
export function numericKind(kind: ValueKind): "integer" | "number" | undefined {
  switch (kind) {
    case "age": case "quantity": case "year": case "rating": case "score": case "percent": return "integer";
    case "price": case "latitude": case "longitude": return "number";
    default: return undefined;
  }
}

/** A number that looks right for the kind; undefined when the name says nothing useful. */
export function plausibleNumber(kind: ValueKind, rng: Rng): number | undefined {
  switch (kind) {
    case "age": return rng.int(18, 90);
    case "price": return rng.int(100, 50000) / 100;
    case "rating": return rng.int(1, 5);
    case "score": case "percent": return rng.int(0, 100);
    case "quantity": return rng.int(1, 20);
    case "year": return rng.int(1990, 2025);
    case "latitude": return rng.int(-90000, 90000) / 1000;
    case "longitude": return rng.int(-180000, 180000) / 1000;
    case "id": return rng.int(1, 10000);
    default: return undefined;
  }
}
