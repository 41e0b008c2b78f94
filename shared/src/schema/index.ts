export * from "./canonical.js";
export * from "./lru.js";
export * from "./schema-guard.js";
export * from "./request-validator.js";
