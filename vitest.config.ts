import { defineConfig } from "vitest/config";

// Tests run on the TypeScript sources: the `@llmq/source` export condition points each workspace package at
// its src/ instead of dist/. Processes that tests spawn (npm start, workers) run the built dist/.
const conditions = ["@llmq/source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@llmq/source"] } },
  test: {
    include: ["shared/test/**/*.test.ts", "services/*/test/**/*.test.ts", "load/test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    // Two cores here: more parallel files only adds contention and flaky timings.
    maxWorkers: 2,
  },
});
