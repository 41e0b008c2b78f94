export * from "./redis-fixture.js";
export * from "./guide.js";
export * from "./redis-cluster.js";
