export * from "./error-codes.js";
export * from "./app-error.js";
