import { configDefaults, defineConfig } from "vitest/config";

// Tests run on the TypeScript sources: the `@llmq/source` export condition points each workspace package at
// its src/ instead of dist/. Processes that tests spawn (npm start, workers) run the built dist/.
const conditions = ["@llmq/source", "node", "import", "default"];
// Vitest passes ssr.resolve.conditions to the test processes as `node --conditions`, which also steer Node's
// own require(): with "import" there, a CJS package requiring a dual package gets its ESM namespace instead of
// the function (Express 5's router and is-promise: every async route answered 500). Vite adds "import" or
// "require" by itself per importer, so the SSR list names only what is ours.
const ssrConditions = ["@llmq/source", "node"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: ssrConditions, externalConditions: ["@llmq/source"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "single",
          include: ["shared/test/**/*.test.ts", "services/*/test/**/*.test.ts", "load/test/**/*.test.ts", "cli/test/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/cluster/**"],
          globalSetup: ["./test/global-setup.ts"],
        },
      },
      {
        // `npm run test:unit`: the tests that need nothing (no Redis, no processes). Not part of `npm test`, whose
        // "single" project already runs them.
        extends: true,
        test: {
          name: "unit",
          include: ["shared/test/**/*.test.ts", "services/*/test/**/*.test.ts", "load/test/**/*.test.ts", "cli/test/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/cluster/**", "**/*.int.test.ts"],
        },
      },
      {
        // The same suites on a private 3-master Redis Cluster (test/global-setup-cluster.ts): the core routes and sync jobs of several requests, the
        // batches (a 1,000-item one among them) and their retry, the streamed /v1 chat and /v1 files and batches, the worker's jobs and the
        // capacity buckets, and the cluster's own tests (key spread, failover). Chosen, not everything: the rest
        // does not touch how keys are laid out.
        extends: true,
        test: {
          name: "cluster",
          include: [
            "services/api/test/jobs.int.test.ts",
            "services/api/test/sync-groups.int.test.ts",
            "services/api/test/batches/batches.int.test.ts",
            "services/api/test/batches/batch-retry.int.test.ts",
            "services/api/test/batches/batch-steps.int.test.ts",
            "services/api/test/batches/batch-groups.int.test.ts",
            "services/api/test/compat/openai-client.int.test.ts",
            "services/api/test/compat/openai-batches.int.test.ts",
            "services/worker/test/jobs.int.test.ts",
            "services/worker/test/sync-group.int.test.ts",
            "services/worker/test/capacity.int.test.ts",
            "shared/test/capacity-scripts.int.test.ts",
            "shared/test/coalesce-writes.int.test.ts",
            "test/cluster/**/*.int.test.ts",
          ],
          globalSetup: ["./test/global-setup-cluster.ts"],
        },
      },
    ],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    // Two cores here: more parallel files only adds contention and flaky timings.
    maxWorkers: 2,
  },
});
