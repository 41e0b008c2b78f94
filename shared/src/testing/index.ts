export * from "./redis-fixture.js";
export * from "./guide.js";
