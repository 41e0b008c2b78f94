import { describe, expectTypeOf, it } from "vitest";
import type { BatchCounts, BatchList, BatchView } from "@llmq/shared";
import type { JobView } from "../../services/api/src/jobs/job-view.js";
import type * as Cli from "../src/api-types.js";

/**
 * The command line keeps its own copy of the parts of the HTTP contract it reads (it depends on no other
 * package). What the API answers must still be what the command line expects: these are checked by the
 * compiler (`npm test` typechecks first), so a field the API renames or retypes fails here, not at a user's prompt.
 */
describe("the command line's copy of the HTTP contract", () => {
  it("accepts every batch view, list and count the API answers", () => {
    expectTypeOf<BatchCounts>().toExtend<Cli.BatchCounts>();
    expectTypeOf<BatchView>().toExtend<Cli.BatchView>();
    expectTypeOf<BatchList>().toExtend<Cli.BatchList>();
  });

  it("accepts every job view the API answers", () => {
    expectTypeOf<JobView>().toExtend<Cli.JobView>();
  });
});
