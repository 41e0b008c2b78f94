export { createApp, type AppDeps } from "./app.js";
export { createApiRuntime, type ApiRuntime } from "./runtime.js";
export { BatchStore, type NewBatch } from "./batches/index.js";
