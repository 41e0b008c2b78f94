export * from "./redis-fixture.js";
