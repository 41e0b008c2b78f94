export * from "./config/index.js";
export * from "./contracts/index.js";
export * from "./errors/index.js";
export * from "./logger/index.js";
export * from "./models/index.js";
export * from "./redis/index.js";
export * from "./schema/index.js";
export * from "./tokens/index.js";
