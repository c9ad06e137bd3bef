// @vitest-environment jsdom
// The selection's side panel (the map calls show(ids)), the widget's focus after an undo, the
// search shortcut, and the module form anywidget reads.
import { afterEach, describe, expect, it, vi } from "vitest";
import { selectionHeadline, textsToFetch, undoneIndex } from "../src/logic.js";
import { selectionView } from "../src/views/selection.js";
import * as widgetModule from "../src/widget.js";
import { FakeModel, initialState } from "./fake-model.js";

const { render } = widgetModule.default;

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  vi.restoreAllMocks();
});

function panel(model = new FakeModel(), extra = {}) {
  const view = selectionView({ model, shown: 3, ...extra });
  document.body.append(view.el);
  cleanups.push(view.destroy, () => view.el.remove());
  return view;
}

/** The kernel's answer to a message, as anywidget delivers it. */
function kernel(model, content, buffers = []) {
  for (const fn of model.handlers.get("msg:custom") ?? []) fn(content, buffers);
}

function mount(model) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = render({ model, el });
  cleanups.push(cleanup, () => el.remove());
  return el;
}

const key = (target, k, extra = {}) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));

describe("the selection panel", () => {
  it("is hidden until the map selects, then shows the count and the first texts, asked of the kernel", () => {
    const model = new FakeModel();
    const view = panel(model);
    expect(view.el.hidden).toBe(true);
    view.show([40, 41, 42, 43, 44]);
    expect(view.el.hidden).toBe(false);
    expect(view.el.querySelector(".aw-selection-count").textContent).toBe("5 texts selected");
    expect(model.sent).toEqual([{ kind: "map_text", ids: [40, 41, 42] }]);
    expect(view.el.querySelector(".aw-selection-more").textContent).toBe("and 2 more");
    kernel(model, { kind: "map_text", texts: { 40: "Cataract", 41: "<b>Glaucoma</b>", 42: "Otitis" } });
    const shown = [...view.el.querySelectorAll(".aw-selection-text")].map((li) => li.textContent);
    expect(shown).toEqual(["#40 Cataract", "#41 <b>Glaucoma</b>", "#42 Otitis"]);
    expect(view.el.querySelector("b")).toBeNull();
    view.show([41, 42]);
    expect(model.sent).toHaveLength(1); // known texts are not asked for again
    view.show([]);
    expect(view.el.hidden).toBe(true);
  });

  it("labels all with one command, then shows what was stored and an Undo, and lets the map go", () => {
    const model = new FakeModel();
    let cleared = 0;
    const view = panel(model, { onStored: () => (cleared += 1) });
    view.show([40, 41, 42, 43]);
    view.el.querySelector('.aw-selection-label[data-label="eye"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "label_selection", ids: [40, 41, 42, 43], label: "eye" });
    expect(view.el.querySelector('.aw-selection-label[data-label="other"]').disabled).toBe(true);
    view.el.querySelector('.aw-selection-label[data-label="other"]').click(); // busy: nothing sent twice
    expect(model.sent.filter((m) => m.kind === "label_selection")).toHaveLength(1);
    kernel(model, { kind: "selection", action: "label", label: "eye", count: 3, left_out: 1, text: "labelled 3 texts eye; 1 left as they were (1 labelled or skipped)", undoable: true });
    expect(cleared).toBe(1);
    expect(view.selected()).toEqual([]);
    expect(view.el.hidden).toBe(false);
    expect(view.el.querySelector(".aw-selection-picked").hidden).toBe(true);
    expect(view.el.querySelector(".aw-selection-note").textContent).toContain("1 left as they were");
    const undo = view.el.querySelector(".aw-selection-undo");
    expect(undo.hidden).toBe(false);
    undo.click();
    expect(model.sent.at(-1)).toEqual({ kind: "undo_selection" });
    kernel(model, { kind: "selection", action: "undo", label: "eye", count: 3, left_out: 0, text: "took back 3 texts labelled eye", undoable: false });
    expect(undo.hidden).toBe(true);
    expect(view.el.querySelector(".aw-selection-note").textContent).toBe("took back 3 texts labelled eye");
  });

  it("skips all; a refusal keeps the selection to try again", () => {
    const model = new FakeModel();
    let cleared = 0;
    const view = panel(model, { onStored: () => (cleared += 1) });
    view.show([7, 8]);
    view.el.querySelector(".aw-selection-skip").click();
    expect(model.sent.at(-1)).toEqual({ kind: "skip_selection", ids: [7, 8] });
    model.set("error", "none of the 2 selected texts is open (2 labelled or skipped): nothing was stored");
    expect(cleared).toBe(0);
    expect(view.selected()).toEqual([7, 8]);
    expect(view.el.querySelector(".aw-selection-skip").disabled).toBe(false);
  });

  it("receives through the checked path: an answer not as declared is refused, shown on the error line, and the selection stays", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const model = new FakeModel();
    const el = mount(model);
    el.querySelector(".aw-root").dispatchEvent(new CustomEvent(widgetModule.SELECT_EVENT, { detail: { ids: [40, 41] } }));
    el.querySelector('.aw-selection-label[data-label="eye"]').click();
    const answer = { kind: "selection", action: "label", label: "eye", count: 2, left_out: 0, text: "labelled 2 texts eye", undoable: true };
    const { text, ...withoutText } = answer;
    expect(() => kernel(model, withoutText)).not.toThrow();
    expect(() => kernel(model, { kind: "map_text", texts: { 40: "Cataract" } }, [new ArrayBuffer(4)])).not.toThrow();
    const shown = () => [...el.querySelectorAll(".aw-selection-text")].map((li) => li.textContent);
    expect(shown()).toEqual(["#40 …", "#41 …"]);
    expect(el.querySelector(".aw-selection-count").textContent).toBe("2 texts selected"); // not let go
    expect(el.querySelector(".aw-selection-note").textContent).toBe("storing 2 texts…");
    expect(el.querySelector(".aw-error").hidden).toBe(false);
    expect(el.querySelector(".aw-error-text").textContent).toContain("map_text carries no binary buffers, got 1");
    expect(errors.mock.calls.map((call) => call[0]).join("\n")).toContain('selection needs "text"');
    kernel(model, answer); // the kernel's next, good answer is taken
    expect(el.querySelector(".aw-selection-picked").hidden).toBe(true);
    expect(el.querySelector(".aw-selection-note").textContent).toBe("labelled 2 texts eye");
  });

  it("shows a selection sent to the widget's root as the map's lasso would", () => {
    const model = new FakeModel();
    const el = mount(model);
    el.querySelector(".aw-root").dispatchEvent(new CustomEvent(widgetModule.SELECT_EVENT, { detail: { ids: [5, 6] } }));
    expect(el.querySelector(".aw-selection").hidden).toBe(false);
    expect(el.querySelector(".aw-selection-count").textContent).toBe("2 texts selected");
  });
});

describe("helpers", () => {
  it("finds the card an undo changed", () => {
    const batch = [{ id: 1 }, { id: 2 }, { id: 3 }];
    expect(undoneIndex(batch, { 1: "a", 2: "b" }, { 1: "a" })).toBe(1);
    expect(undoneIndex(batch, { 1: "a", 2: null, 3: "b" }, { 1: "a" })).toBe(1); // a whole "rest are"
    expect(undoneIndex(batch, { 3: "a" }, { 3: "b" })).toBe(2); // put back to an earlier answer
    expect(undoneIndex(batch, { 1: "a" }, { 1: "a" })).toBe(-1);
  });

  it("words the count and asks only for unknown texts among the first shown", () => {
    expect(selectionHeadline(1)).toBe("1 text selected");
    expect(selectionHeadline(12345)).toBe("12,345 texts selected");
    expect(textsToFetch([1, 2, 3, 4], new Map([[2, "x"]]), 3)).toEqual([1, 3]);
  });
});

describe("focus", () => {
  it("goes back to the undone card after an undo, not on to the next", () => {
    const model = new FakeModel();
    const el = mount(model);
    const root = el.querySelector(".aw-root");
    key(root, "1", { code: "Digit1" }); // card 0 answered, focus moves to card 1
    model.set("answers", { 10: "other" });
    expect(el.querySelectorAll(".aw-card")[1].classList.contains("aw-focused")).toBe(true);
    key(root, "u");
    model.set("answers", {});
    expect(el.querySelectorAll(".aw-card")[0].classList.contains("aw-focused")).toBe(true);
  });

  it("stays in the widget when Undo, clicked, is disabled because nothing is left to undo", () => {
    const model = new FakeModel(initialState({ answers: { 10: "eye" } }));
    const el = mount(model);
    const undo = el.querySelector(".aw-undo");
    undo.focus();
    undo.click();
    model.set("answers", {});
    expect(undo.disabled).toBe(true);
    expect(el.querySelector(".aw-root").contains(document.activeElement)).toBe(true);
    key(document.activeElement, "2", { code: "Digit2" });
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [10], label: "eye" });
  });

  it("'/' opens the search with the last query selected, so that typing replaces it", () => {
    const model = new FakeModel();
    const el = mount(model);
    const input = el.querySelector(".aw-search-input");
    input.value = "retinal detachment";
    key(el.querySelector(".aw-root"), "/");
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, "retinal detachment".length]);
  });

  it("Escape leaves the search box for the widget without clearing the query", () => {
    const el = mount(new FakeModel());
    const input = el.querySelector(".aw-search-input");
    input.value = "retina";
    input.focus();
    const event = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    input.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(true); // a search box's own Escape would clear it
    expect(document.activeElement).toBe(el.querySelector(".aw-root"));
  });
});

describe("the module", () => {
  it("exports {render} as its default and no render by name (anywidget warns about that form)", () => {
    expect(widgetModule.render).toBeUndefined();
    expect(typeof widgetModule.default.render).toBe("function");
  });
});
