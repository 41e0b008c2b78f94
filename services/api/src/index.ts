export { createApp, type AppDeps } from "./app.js";
export { createApiRuntime, type ApiRuntime } from "./runtime.js";
