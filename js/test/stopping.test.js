// @vitest-environment jsdom
// The stopping panel: opened from its button, it asks the kernel for the report and draws it in
// the kernel's words; check cards are marked as such and answered with a class; an open panel
// asks again after each batch.
import { afterEach, describe, expect, it } from "vitest";
import { CHECK_SIZE } from "../src/views/stopping.js";
import * as widgetModule from "../src/widget.js";
import { FakeModel } from "./fake-model.js";

const { render } = widgetModule.default;

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function widget() {
  const model = new FakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  cleanups.push(render({ model, el }), () => el.remove());
  model.sent.splice(0); // the view's hello
  return { model, el };
}

function kernel(model, content) {
  for (const fn of model.handlers.get("msg:custom") ?? []) fn(content, []);
}

const LINES = ["3 rare items found.", "About 12 left unlabelled (95% interval 4-31), from 40 check-sample answers.", "since last rare: not yet (2 batches without one; stop after 5)"];

describe("the stopping panel", () => {
  it("opens from its button, asks for the report and shows it line by line", () => {
    const { model, el } = widget();
    const panel = el.querySelector(".aw-stopping");
    expect(panel.hidden).toBe(true);
    el.querySelector(".aw-stopping-button").click();
    expect(panel.hidden).toBe(false);
    expect(model.sent).toEqual([{ kind: "stopping" }]);
    kernel(model, { kind: "stopping", lines: LINES, open: [], unanswered: 0, said: "" });
    expect([...panel.querySelectorAll(".aw-stopping-line")].map((li) => li.textContent)).toEqual(LINES);
    expect(panel.querySelectorAll(".aw-check-card")).toHaveLength(0);
    expect(panel.querySelector(".aw-check-note").textContent).toBe("");
  });

  it("draws a check sample and shows its texts as marked check cards, each answered with a class", () => {
    const { model, el } = widget();
    el.querySelector(".aw-stopping-button").click();
    el.querySelector(".aw-check-draw").click();
    expect(model.sent.at(-1)).toEqual({ kind: "check_sample", size: CHECK_SIZE });
    kernel(model, { kind: "stopping", lines: LINES, open: [{ id: 40, text: "Iritis <b>acute</b>" }, { id: 41, text: "Fracture" }], unanswered: 7, said: "20 texts drawn at random, not by the model: answer them below" });
    const cards = [...el.querySelectorAll(".aw-check-card")];
    expect(cards.map((c) => c.dataset.id)).toEqual(["40", "41"]);
    expect(cards[0].querySelector(".aw-check-badge").textContent).toBe("check sample");
    expect(cards[0].querySelector(".aw-check-text").textContent).toBe("Iritis <b>acute</b>"); // text, never HTML
    expect(el.querySelector(".aw-check-note").textContent).toMatch(/^check sample: 7 texts to answer, drawn at random, not by the model/);
    expect(el.querySelector(".aw-stopping-said").textContent).toBe("20 texts drawn at random, not by the model: answer them below");
    cards[1].querySelector('.aw-check-answer[data-label="other"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "check_answer", ids: [41], label: "other" });
    expect(el.querySelectorAll(".aw-card").length).toBe(3); // the batch's cards stay as they were
  });

  it("asks again after a batch while open, and not while closed", () => {
    const { model, el } = widget();
    model.set("iteration", 5);
    expect(model.sent).toEqual([]);
    el.querySelector(".aw-stopping-button").click();
    model.set("iteration", 6);
    expect(model.sent).toEqual([{ kind: "stopping" }, { kind: "stopping" }]);
    el.querySelector(".aw-stopping-button").click();
    expect(el.querySelector(".aw-stopping").hidden).toBe(true);
  });
});
