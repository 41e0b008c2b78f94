import { describe, expect, it } from "vitest";
import { parseDoneMessage } from "../src/index.js";

describe("done messages", () => {
  it("are an id, or an id and the record's JSON after a newline", () => {
    expect(parseDoneMessage("abc")).toEqual({ id: "abc", recordJson: undefined });
    expect(parseDoneMessage('abc\n{"id":"abc"}')).toEqual({ id: "abc", recordJson: '{"id":"abc"}' });
  });
});
