export * from "./config.js";
export * from "./fields.js";
export * from "./load-config.js";
export * from "./env-file.js";
