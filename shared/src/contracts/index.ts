export * from "./providers.js";
export * from "./job-catalog.js";
export * from "./chat.js";
export * from "./job-record.js";
export * from "./keys.js";
export * from "./job-options.js";
export * from "./request-schemas.js";
export * from "./compat-schemas.js";
