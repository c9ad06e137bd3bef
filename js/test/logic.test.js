import { describe, expect, it } from "vitest";
import { answerOf, batchProgress, clampIndex, fold, majorityClass, nextOpen, percent, progressFraction, outOfView, progressText, searchFirst, unanswered } from "../src/logic.js";

const batch = [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }];

describe("fold", () => {
  it("keeps short texts whole", () => {
    expect(fold("short text", 20)).toEqual({ shown: "short text", folded: false });
  });
  it("cuts long texts at a word boundary and marks them folded", () => {
    const text = "word ".repeat(100).trim();
    const { shown, folded } = fold(text, 52);
    expect(folded).toBe(true);
    expect(shown.endsWith("word…")).toBe(true);
    expect(shown.length).toBeLessThanOrEqual(53);
  });
  it("cuts a text without spaces at the limit", () => {
    expect(fold("x".repeat(100), 10).shown).toBe(`${"x".repeat(10)}…`);
  });
});

describe("answers", () => {
  const answers = { 2: "eye", 3: null };
  it("lists the cards without an answer, skipped ones counting as answered", () => {
    expect(unanswered(batch, answers)).toEqual([1, 4]);
  });
  it("tells a class, a skip and no answer apart", () => {
    expect(answerOf(answers, 2)).toBe("eye");
    expect(answerOf(answers, 3)).toBeNull();
    expect(answerOf(answers, 1)).toBeUndefined();
  });
  it("counts the batch for the submit button", () => {
    expect(batchProgress(batch, answers)).toEqual({ answered: 2, total: 4, open: 2 });
  });
  it("moves on to the next open card, wrapping round, and stays when all are answered", () => {
    expect(nextOpen(batch, { ...answers, 1: "other" }, 0)).toBe(3);
    expect(nextOpen(batch, { ...answers, 4: "other" }, 3)).toBe(0);
    expect(nextOpen(batch, { 1: "a", 2: "a", 3: "a", 4: "a" }, 2)).toBe(2);
  });
});

describe("classes and numbers", () => {
  it("takes the first class that is not a minority class for 'the rest'", () => {
    expect(majorityClass(["eye", "other", "ear"], ["eye"])).toBe("other");
    expect(majorityClass(["a", "b"], ["a", "b"])).toBe("a");
  });
  it("clamps the focus into the batch", () => {
    expect(clampIndex(-1, 4)).toBe(0);
    expect(clampIndex(9, 4)).toBe(3);
    expect(clampIndex(2, 0)).toBe(0);
  });
  it("writes progress against the budget, or the pool without one", () => {
    expect(progressText({ labelled: 120, budget: 500, pool: 2000 })).toBe("120 / 500 labelled");
    expect(progressText({ labelled: 120, budget: null, pool: 2000 })).toBe("120 labelled of 2,000 texts");
    expect(progressFraction({ labelled: 120, budget: 480, pool: 2000 })).toBeCloseTo(0.25);
    expect(progressFraction({ labelled: 900, budget: 500, pool: 2000 })).toBe(1);
    expect(percent(0.814)).toBe("81%");
  });
});

describe("where the search goes, and whether the widget is out of view", () => {
  it("puts the search first before the first batch only", () => {
    expect(searchFirst("cold", [])).toBe(true);
    expect(searchFirst("preparing", [])).toBe(true);
    expect(searchFirst("ready", [{ id: 1 }])).toBe(false);
    expect(searchFirst("training", [])).toBe(false); // between batches: the cards' place is theirs
    expect(searchFirst("done", [])).toBe(false);
  });

  it("tells a box whose top is above or below the view", () => {
    expect(outOfView({ top: 1200, bottom: 1900 }, 1000)).toBe(true);
    expect(outOfView({ top: -900, bottom: -10 }, 1000)).toBe(true);
    expect(outOfView({ top: 900, bottom: 1600 }, 1000)).toBe(false);
    expect(outOfView({ top: 0, bottom: 2600 }, 1000)).toBe(false);
    // its lower part on screen, its headline above it (Notebook 7 after Run All)
    expect(outOfView({ top: -100, bottom: 50 }, 1000)).toBe(true);
    expect(outOfView({ top: -1078, bottom: 400 }, 1000)).toBe(true);
  });
});
