export * from "./connections.js";
export * from "./redis-policy.js";
export * from "./delete-prefix.js";
export * from "./coalesce-writes.js";
