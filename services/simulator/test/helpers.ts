// Test fixture: simulators on port 0, closed after each test, plus an ajv that validates the
// draft-07 and 2020-12 schemas the tests send.
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterEach } from "vitest";
import { createSimulator, type Simulator, type SimulatorOptions, type SimStats } from "../src/index.js";
import { GUIDE_SCHEMAS } from "@llmq/shared/testing";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const running: Simulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

export interface Started {
  sim: Simulator;
  url: string;
}

export async function startSim(options: SimulatorOptions = {}): Promise<Started> {
  const sim = createSimulator(options);
  running.push(sim);
  const { url } = await sim.listen(0, "127.0.0.1");
  return { sim, url };
}

export async function simStats(url: string): Promise<SimStats> {
  const res = await fetch(`${url}/__sim/stats`);
  return (await res.json()) as SimStats;
}

const ajv2020 = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv2020 as unknown as Ajv);
const ajv07 = new Ajv({ strict: false, allErrors: true });
addFormats(ajv07);

/** Draft-07 when the schema says so, else 2020-12 (which also reads most draft-07 schemas). */
function ajvFor(schema: object): Ajv {
  const declared = (schema as { $schema?: unknown }).$schema;
  return typeof declared === "string" && declared.includes("draft-07") ? ajv07 : (ajv2020 as unknown as Ajv);
}

export function validator(schema: object): ValidateFunction {
  return ajvFor(schema).compile(schema);
}

/** The ajv error text, or "" when the value is valid. */
export function schemaErrors(schema: object, value: unknown): string {
  const validate = validator(schema);
  return validate(value) ? "" : ajvFor(schema).errorsText(validate.errors);
}

// The guide's three structured-output schemas (seed/performance-testing-guide.md).
export const SIMPLE_USER = GUIDE_SCHEMAS.simple;
export const NESTED_USER = GUIDE_SCHEMAS.nested;
export const USER_LIST = GUIDE_SCHEMAS.array;

/** SIMPLE_USER as OpenAI strict mode requires it: closed, every property required. */
export const STRICT_USER = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    email: { type: "string" },
    nickname: { type: ["string", "null"] },
  },
  required: ["name", "age", "email", "nickname"],
  additionalProperties: false,
} as const;

export const NAME_RE = /^[A-Z][a-zA-Z-]+ [A-Z][a-zA-Z-]+$/;
export const EMAIL_RE = /^[a-z.-]+@[a-z.]+\.[a-z]+$/;
