// @vitest-environment jsdom
// The review view: its rules (filters -> command fields, keys), the page it draws from the
// kernel's review_page, and the commands it sends by button and by key inside the widget.
import { afterEach, describe, expect, it } from "vitest";
import { filterFields, noFilters, reviewCommandFor, reviewHeadline } from "../src/review.js";
import * as widgetModule from "../src/widget.js";
import { FakeModel } from "./fake-model.js";

const { render } = widgetModule.default;

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const row = (id, label, extra = {}) => ({ id, text: `text ${id}`, label, annotator: "alice", iteration: 2, predicted: "other", confidence: 0.7, others: [], conflict: false, ...extra });
const page = (rows, extra = {}) => ({ kind: "review_page", rows, total: rows.length, offset: 0, annotators: ["alice", "bob"], iterations: [-1, 2], model: true, text: "", agreement: "", ...extra });

function kernel(model, content) {
  for (const fn of model.handlers.get("msg:custom") ?? []) fn(content, []);
}
const key = (target, k, extra = {}) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));

function widget() {
  const model = new FakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  cleanups.push(render({ model, el }), () => el.remove());
  return { model, el, root: el.querySelector(".aw-root") };
}

describe("the review view's rules", () => {
  it("sends only the filters that narrow the list", () => {
    expect(filterFields(noFilters())).toEqual({});
    expect(filterFields({ label: "eye", annotator: "bob", iteration: "-1", disagree: true, conflicts: true, doubted: true, offset: 50 })).toEqual({ label: "eye", annotator: "bob", iteration: -1, disagree: true, conflicts: true, doubted: true, offset: 50 });
    expect(filterFields({ ...noFilters(), iteration: "0" })).toEqual({ iteration: 0 });
  });

  it("reads its own keys, classes only as many as there are", () => {
    expect(reviewCommandFor({ key: "2" }, 2)).toEqual({ type: "correct", index: 1 });
    expect(reviewCommandFor({ key: "3" }, 2)).toBeNull();
    expect(reviewCommandFor({ key: "x" }, 2)).toEqual({ type: "remove" });
    expect(reviewCommandFor({ key: "Delete" }, 2)).toEqual({ type: "remove" });
    expect(reviewCommandFor({ key: "]" }, 2)).toEqual({ type: "page", delta: 1 });
    expect(reviewCommandFor({ key: "j" }, 2)).toEqual({ type: "move", delta: 1 });
    expect(reviewCommandFor({ key: "Escape" }, 2)).toEqual({ type: "close" });
    expect(reviewCommandFor({ key: "x", ctrlKey: true }, 2)).toBeNull();
    expect(reviewHeadline(0, 0, 0)).toBe("no label passes these filters");
    expect(reviewHeadline(120, 50, 50)).toBe("120 labels, newest first: 51–100");
  });
});

describe("the review view in the widget", () => {
  it("opens on v, asks for the newest labels and draws them with who, when and the model's guess", () => {
    const { model, el, root } = widget();
    key(root, "v");
    expect(model.sent.at(-1)).toEqual({ kind: "review_page" });
    kernel(model, page([row(5, "eye", { others: [["bob", "other"]] }), row(9, "other", { predicted: "other" })]));
    const rows = el.querySelectorAll(".aw-review-row");
    expect([...rows].map((r) => r.dataset.id)).toEqual(["5", "9"]);
    expect(rows[0].dataset.disagree).toBe("true");
    expect(rows[1].dataset.disagree).toBe("false");
    expect(rows[0].textContent).toContain("alice, iteration 2");
    expect(rows[0].textContent).toContain("model: other 70%");
    expect(rows[0].textContent).toContain("also: bob: other");
    expect(el.querySelector(".aw-review-headline").textContent).toBe("2 labels, newest first: 1–2");
    expect([...el.querySelectorAll('.aw-review-filter[data-filter="annotator"] option')].map((o) => o.value)).toEqual(["", "alice", "bob"]);
  });

  it("sends a filter with each command, and a change of class or a removal for the row in focus", () => {
    const { model, el, root } = widget();
    key(root, "v");
    const select = el.querySelector('.aw-review-filter[data-filter="label"]');
    select.value = "eye";
    select.dispatchEvent(new Event("change"));
    expect(model.sent.at(-1)).toEqual({ kind: "review_page", label: "eye" });
    kernel(model, page([row(5, "eye"), row(6, "eye")]));
    key(root, "j"); // the second row
    key(root, "1"); // -> other
    expect(model.sent.at(-1)).toEqual({ kind: "review_correct", ids: [6], to: "other", label: "eye" });
    key(root, "2"); // its class already: nothing
    expect(model.sent.at(-1).kind).toBe("review_correct");
    expect(model.sent.filter((m) => m.kind === "review_correct")).toHaveLength(1);
    key(root, "x");
    expect(model.sent.at(-1)).toEqual({ kind: "review_remove", ids: [6], label: "eye" });
    el.querySelector('.aw-review-row[data-id="5"] .aw-review-to[data-to="other"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "review_correct", ids: [5], to: "other", label: "eye" });
  });

  it("keeps the batch's keys from firing while open, and gives them back when closed", () => {
    const { model, root } = widget();
    key(root, "v");
    kernel(model, page([row(5, "eye")]));
    key(root, "s"); // skip in the batch view; nothing here
    expect(model.sent.some((m) => m.kind === "skip")).toBe(false);
    key(root, "Escape");
    key(root, "s");
    expect(model.sent.at(-1).kind).toBe("skip");
  });

  it("turns pages only where there are more, and says when the model's guesses are not known", () => {
    const { model, el, root } = widget();
    key(root, "v");
    const rows = Array.from({ length: 50 }, (_, i) => row(100 + i, "other"));
    kernel(model, page(rows, { total: 60, model: false }));
    expect(el.querySelector(".aw-review-disagree").disabled).toBe(true);
    key(root, "[");
    expect(model.sent.at(-1)).toEqual({ kind: "review_page" });
    key(root, "]");
    expect(model.sent.at(-1)).toEqual({ kind: "review_page", offset: 50 });
    kernel(model, page(rows.slice(0, 10), { total: 60, offset: 50 }));
    const sent = model.sent.length;
    key(root, "]");
    expect(model.sent.length).toBe(sent);
    expect(el.querySelector(".aw-review-next").disabled).toBe(true);
  });
});

describe("conflicts in the review view", () => {
  it("lists them alone on request, says how far people agree, and sends a decision for them", () => {
    const { model, el, root } = widget();
    key(root, "v");
    el.querySelector(".aw-review-conflicts").click();
    expect(model.sent.at(-1)).toEqual({ kind: "review_page", conflicts: true });
    const agreed = "2 items answered by two people or more; Fleiss' kappa 0.00; 1 conflict to resolve";
    kernel(model, page([row(5, "eye", { conflict: true, others: [["bob", "other"]] })], { agreement: agreed }));
    expect(el.querySelector(".aw-review-agreement").textContent).toBe(agreed);
    const conflictRow = el.querySelector('.aw-review-row[data-id="5"]');
    expect(conflictRow.dataset.conflict).toBe("true");
    expect([...conflictRow.querySelectorAll(".aw-review-to")].map((b) => b.textContent)).toEqual(["decide other", "decide eye"]);
    key(root, "2"); // its class already, but a decision all the same
    expect(model.sent.at(-1)).toEqual({ kind: "review_resolve", ids: [5], to: "eye", conflicts: true });
  });
});

describe("labels a label check doubts, in the review view", () => {
  it("lists them on request with the check's evidence, and a change of class keeps the filter", () => {
    const { model, el, root } = widget();
    key(root, "v");
    el.querySelector(".aw-review-doubted").click();
    expect(model.sent.at(-1)).toEqual({ kind: "review_page", doubted: true });
    const evidence = "the label check suggests other: 12% for eye";
    kernel(model, page([row(7, "eye", { doubt: evidence }), row(8, "other", { doubt: null })]));
    expect(el.querySelector('.aw-review-row[data-id="7"] .aw-review-doubt').textContent).toBe(evidence);
    expect(el.querySelector('.aw-review-row[data-id="8"] .aw-review-doubt')).toBeNull();
    key(root, "1"); // the row in focus, #7, to "other"
    expect(model.sent.at(-1)).toEqual({ kind: "review_correct", ids: [7], to: "other", doubted: true });
  });
});
