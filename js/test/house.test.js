import { describe, expect, it } from "vitest";

// The house rule of the Python package (tests/test_house.py) holds for the front end too: a
// module near this length holds more than one concept.
const MAX_LINES = 400;
const sources = import.meta.glob("../src/**/*.js", { query: "?raw", import: "default", eager: true });

describe("the front end's house rules", () => {
  it("see every module", () => {
    expect(Object.keys(sources)).toContain("../src/views/map.js");
    expect(Object.keys(sources).length).toBeGreaterThan(20);
  });

  it.each(Object.entries(sources))("%s stays under the line limit", (path, source) => {
    const lines = source.split("\n").length - 1;
    expect(lines, `${path} has ${lines} lines: split it along its concepts`).toBeLessThan(MAX_LINES);
  });
});
