import { describe, expect, it } from "vitest";
import { emptyMap } from "../src/mapdata.js";
import { standing, standingNote } from "../src/mapstanding.js";

const state = {
  ...emptyMap(),
  classes: ["other", "eye"],
  layers: { ...emptyMap().layers, labelled: { ids: Int32Array.from([5, 6]), xy: new Float32Array(4), values: Int32Array.from([1, 0]) } },
};

describe("where a map point stands", () => {
  it("is the batch first, then its label, else open", () => {
    const batch = [{ id: 2 }, { id: 6 }];
    expect(standing(state, batch, 2)).toEqual({ where: "batch" });
    expect(standing(state, batch, 6)).toEqual({ where: "batch" });
    expect(standing(state, batch, 5)).toEqual({ where: "labelled", label: "eye" });
    expect(standing(state, [], 6)).toEqual({ where: "labelled", label: "other" });
    expect(standing(state, batch, 7)).toEqual({ where: "open" });
  });

  it("is worded with a batch item's draft answer (null: skipped)", () => {
    expect(standingNote({ where: "batch" }, 2, {})).toBe("in the batch");
    expect(standingNote({ where: "batch" }, 2, { 2: "eye" })).toBe("in the batch: answered eye");
    expect(standingNote({ where: "batch" }, 2, { 2: null })).toBe("in the batch: answered skip");
    expect(standingNote({ where: "labelled", label: "eye" }, 5, {})).toBe("labelled eye");
    expect(standingNote({ where: "open" }, 7, {})).toBe("not labelled: label it here");
  });
});
