export * from "./connections.js";
export * from "./redis-policy.js";
