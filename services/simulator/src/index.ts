// @llmq/simulator: llmq's own provider simulator (OpenAI, Anthropic and Groq wire formats).
export { createSimulator, type Simulator, type SimulatorOptions } from "./server.js";
export type { SimStats } from "./stats.js";
export { FAULT_KINDS, findMarkers, parseFaults, type Fault, type FaultKind, type FaultRate, type Marker } from "./faults.js";
export { fakeInstance, type FakeOptions } from "./schema-faker.js";
export { estimateTokens } from "./tokens.js";
export { LIMIT_KEYS, parseLimits, type LimitKey, type LimitsSpec, type ModelLimits } from "./rate-limit-spec.js";
export type { LimitCounts } from "./rate-limits.js";
export type { Provider } from "./sim-request.js";
