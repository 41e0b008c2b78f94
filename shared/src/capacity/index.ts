export * from "./capacity-limits.js";
export * from "./capacity-scripts.js";
export * from "./capacity-state.js";
