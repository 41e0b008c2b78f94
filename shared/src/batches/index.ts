export * from "./batch-keys.js";
export * from "./batch-types.js";
export * from "./batch-entry.js";
export * from "./batch-scripts.js";
