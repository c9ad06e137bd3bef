// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NO_BUFFERS } from "../src/frontcheck.js";
import widget from "../src/widget.js";
import { FakeModel, initialState } from "./fake-model.js";

const { render } = widget;

/** @type {HTMLElement[]} */
let hosts = [];
/** @type {(() => void)[]} */
let cleanups = [];

function mount(model) {
  const el = document.createElement("div");
  document.body.append(el);
  hosts.push(el);
  cleanups.push(render({ model, el }));
  // each view first says hello to the kernel (frontcheck.js): the tests below count what follows
  expect(model.sent.splice(0)).toEqual([{ kind: "hello" }]);
  return el;
}

function key(target, k, extra = {}) {
  const event = new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra });
  target.dispatchEvent(event);
  return event;
}

const cards = (el) => [...el.querySelectorAll(".aw-card")];
const root = (el) => el.querySelector(".aw-root");

beforeEach(() => {
  hosts = [];
  cleanups = [];
});
afterEach(() => {
  for (const c of cleanups) c();
  for (const h of hosts) h.remove();
  vi.restoreAllMocks();
});

describe("cards", () => {
  it("shows one card per batch item with text, buttons per class, guess, score and anchor", () => {
    const el = mount(new FakeModel());
    const all = cards(el);
    expect(all.map((c) => c.dataset.id)).toEqual(["10", "11", "12"]);
    const first = all[0];
    expect(first.querySelector(".aw-text").textContent).toBe("Cataract, left eye");
    expect([...first.querySelectorAll("button.aw-class")].map((b) => b.dataset.label)).toEqual(["other", "eye"]);
    expect(first.querySelector(".aw-guess").textContent).toBe("model: eye 81%");
    expect(first.querySelector(".aw-score").textContent).toBe("score 0.74");
    expect(first.querySelector(".aw-why").textContent).toContain("Glaucoma");
    expect(first.querySelector(".aw-why").textContent).toContain("labelled eye");
    expect(all[2].querySelector(".aw-score")).toBeNull();
    expect(all[1].querySelector(".aw-why")).toBeNull();
  });

  it("says when a card was drawn from beyond the anchors' neighbourhoods", () => {
    const model = new FakeModel();
    model.set("batch", model.get("batch").map((c, i) => (i === 1 ? { ...c, score: null, outside: true } : c)));
    const all = cards(mount(model));
    expect(all[1].querySelector(".aw-why").textContent).toContain("beyond the anchors' neighbourhoods");
    expect(all[1].querySelector(".aw-score")).toBeNull();
    expect(all[0].querySelector(".aw-why").textContent).toContain("Glaucoma");
    expect(all[2].querySelector(".aw-why")).toBeNull();
  });

  it("says which model proposed each card: its labelled count, or none yet", () => {
    const all = cards(mount(new FakeModel()));
    expect(all[0].querySelector(".aw-model").textContent).toBe("trained on 350 labels");
    expect(all[1].querySelector(".aw-model").textContent).toBe("no model yet: drawn at random");
    expect(all[2].querySelector(".aw-model")).toBeNull(); // a kernel that does not say
  });

  it("says when the embedding model stood in for the first fine-tuning", () => {
    const model = new FakeModel();
    model.set("batch", model.get("batch").map((c) => ({ ...c, model_labelled: 100, model_stand_in: true })));
    const all = cards(mount(model));
    expect(all[0].querySelector(".aw-model").textContent).toBe("embedding model trained on 100 labels (fine-tuning)");
  });

  it("sends a label for the clicked card, with the batch's iteration", () => {
    const model = new FakeModel();
    const el = mount(model);
    cards(el)[1].querySelector('button[data-label="eye"]').click();
    cards(el)[2].querySelector("button.aw-skip").click();
    expect(model.sent).toEqual([
      { kind: "label", iteration: 4, ids: [11], label: "eye" },
      { kind: "skip", iteration: 4, ids: [12] },
    ]);
  });

  it("shows the kernel's answers as pressed buttons and counts them on submit", () => {
    const model = new FakeModel();
    const el = mount(model);
    const submit = el.querySelector(".aw-submit");
    expect(submit.disabled).toBe(true);
    model.set("answers", { 10: "eye", 11: null });
    expect(cards(el)[0].querySelector('button[data-label="eye"]').getAttribute("aria-pressed")).toBe("true");
    expect(cards(el)[0].querySelector('button[data-label="other"]').getAttribute("aria-pressed")).toBe("false");
    expect(cards(el)[1].dataset.answer).toBe("skip");
    expect(submit.textContent).toBe("Submit (2/3)");
    model.set("answers", { 10: "eye", 11: null, 12: "other" });
    expect(submit.disabled).toBe(false);
    submit.click();
    expect(model.sent.at(-1)).toEqual({ kind: "submit", iteration: 4 });
  });

  it("gives the rest one class with one click", () => {
    const model = new FakeModel();
    const el = mount(model);
    el.querySelector('.aw-rest button[data-label="other"]').click();
    expect(model.sent).toEqual([{ kind: "rest", iteration: 4, label: "other" }]);
  });

  it("folds long texts and unfolds them on click", () => {
    const long = `${"retina ".repeat(80)}END`;
    const model = new FakeModel(initialState({ batch: [{ ...initialState().batch[0], text: long }] }));
    const el = mount(model);
    const text = el.querySelector(".aw-text");
    expect(text.textContent).not.toContain("END");
    expect(text.getAttribute("aria-expanded")).toBe("false");
    text.click();
    expect(text.textContent).toBe(long);
    text.click();
    expect(text.textContent).not.toContain("END");
  });

  it("renders HTML and scripts inside a text as text", () => {
    const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>';
    const model = new FakeModel(initialState({
      batch: [{ ...initialState().batch[0], text: evil, anchor: { id: 1, text: evil, label: "eye", similarity: 0.5 } }],
      search: { query: "x", busy: false, results: [{ id: 5, text: evil, similarity: 0.9, label: null, skipped: false }], seconds: 0.1 },
      error: evil,
    }));
    const el = mount(model);
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("script")).toBeNull();
    expect(el.querySelector("b")).toBeNull();
    expect(el.querySelector(".aw-text").textContent).toBe(evil);
    expect(el.querySelector(".aw-anchor-text").textContent).toBe(evil);
    expect(el.querySelector(".aw-hit-text").textContent).toBe(evil);
    expect(el.querySelector(".aw-error-text").textContent).toBe(evil);
    expect(window.__pwned).toBeUndefined();
  });

  it("says why there is no batch while training and during a cold start", () => {
    const model = new FakeModel(initialState({ batch: [], phase: "training" }));
    const el = mount(model);
    expect(el.querySelector(".aw-toolbar").hidden).toBe(true);
    expect(el.querySelector(".aw-empty").textContent).toContain("preparing the next batch");
    model.set("phase", "cold");
    expect(el.querySelector(".aw-empty").textContent).toContain("every class needs a label");
  });
});

describe("keyboard", () => {
  it("labels the focused card by digit and moves on to the next open card", () => {
    const model = new FakeModel();
    const el = mount(model);
    const r = root(el);
    key(r, "2", { code: "Digit2" });
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [10], label: "eye" });
    expect(cards(el)[1].classList.contains("aw-focused")).toBe(true);
    key(r, "s", { code: "KeyS" });
    expect(model.sent.at(-1)).toEqual({ kind: "skip", iteration: 4, ids: [11] });
    expect(cards(el)[2].classList.contains("aw-focused")).toBe(true);
    key(r, "ArrowUp");
    key(r, "k");
    key(r, "1", { code: "Digit1" });
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [10], label: "other" });
  });

  it("has keys for undo, the rest, and submit", () => {
    const model = new FakeModel();
    const el = mount(model);
    const r = root(el);
    key(r, "u");
    key(r, "r");
    key(r, "@", { code: "Digit2", shiftKey: true });
    key(r, "Enter");
    expect(model.sent).toEqual([
      { kind: "undo", iteration: 4 },
      { kind: "rest", iteration: 4, label: "other" },
      { kind: "rest", iteration: 4, label: "eye" },
      { kind: "submit", iteration: 4 },
    ]);
  });

  it("keeps every plain key from reaching the notebook, and lets Ctrl+S through", () => {
    const model = new FakeModel();
    const el = mount(model);
    const seen = [];
    const spy = (e) => seen.push(e.key);
    document.addEventListener("keydown", spy);
    try {
      const digit = key(root(el), "1", { code: "Digit1" });
      key(root(el), "a");
      key(root(el), "Enter", { shiftKey: true });
      key(root(el), "s", { ctrlKey: true });
      expect(digit.defaultPrevented).toBe(true);
      expect(seen).toEqual(["s"]);
    } finally {
      document.removeEventListener("keydown", spy);
    }
    expect(model.sent).toEqual([{ kind: "label", iteration: 4, ids: [10], label: "other" }]);
    expect(root(el).dataset.lmSuppressShortcuts).toBe("true");
  });

  it("keeps the keyboard focus in the widget when a new batch replaces the clicked card", () => {
    const model = new FakeModel();
    const el = mount(model);
    const button = cards(el)[0].querySelector('button[data-label="eye"]');
    button.focus();
    expect(document.activeElement).toBe(button);
    model.set("batch", [{ ...initialState().batch[1], id: 50 }]);
    expect(document.activeElement).toBe(root(el));
    key(document.activeElement, "1", { code: "Digit1" });
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [50], label: "other" });
  });

  it("types into the search box without labelling anything", () => {
    const model = new FakeModel();
    const el = mount(model);
    const input = el.querySelector(".aw-search-input");
    key(input, "1", { code: "Digit1" });
    key(input, "s");
    expect(model.sent).toEqual([]);
  });

  it("opens and closes the help popover, which lists the shortcuts", () => {
    const el = mount(new FakeModel());
    const help = el.querySelector(".aw-help");
    expect(help.hidden).toBe(true);
    key(root(el), "?", { shiftKey: true });
    expect(help.hidden).toBe(false);
    expect(help.textContent).toContain("submit the batch");
    expect(help.textContent).toContain("2 = eye");
    key(root(el), "Escape");
    expect(help.hidden).toBe(true);
    el.querySelector(".aw-help-button").click();
    expect(help.hidden).toBe(false);
  });
});

describe("status, search and errors", () => {
  it("says under the widget that this front end drops binary buffers, when the answer to hello comes without", () => {
    const model = new FakeModel();
    const el = mount(model);
    const error = el.querySelector(".aw-error");
    expect(error.hidden).toBe(true);
    for (const fn of [...model.handlers.get("msg:custom")]) fn({ kind: "hello", bytes: [0, 255] }, []);
    expect(error.hidden).toBe(false);
    expect(el.querySelector(".aw-error-text").textContent).toBe(NO_BUFFERS);
    expect(root(el).dataset.messages).toBe("not-carried");
    el.querySelector(".aw-dismiss").click();
    expect(error.hidden).toBe(true);
  });

  it("shows the status line, progress against the budget and per-class counts", () => {
    const model = new FakeModel();
    const el = mount(model);
    expect(el.querySelector(".aw-status-text").textContent).toBe("ready: 3 texts in 0.41 s");
    expect(el.querySelector(".aw-progress-text").textContent).toBe("20 / 100 labelled");
    expect(el.querySelector('.aw-count[data-class="eye"]').textContent).toBe("eye 3");
    expect(el.querySelector(".aw-iteration").textContent).toBe("iteration 4");
    model.set("status", "training…");
    model.set("phase", "training");
    expect(el.querySelector(".aw-status-text").textContent).toBe("training…");
    expect(el.querySelector(".aw-status-view").dataset.phase).toBe("training");
    expect(root(el).dataset.phase).toBe("training");
  });

  it("offers Retry after a failed batch", () => {
    const model = new FakeModel(initialState({ batch: [], phase: "error" }));
    const el = mount(model);
    const retry = el.querySelector(".aw-retry");
    expect(retry.hidden).toBe(false);
    retry.click();
    expect(model.sent).toEqual([{ kind: "retry" }]);
  });

  it("searches, and seeds a class from a result", () => {
    const model = new FakeModel(initialState({
      batch: [], phase: "cold",
      progress: { ...initialState().progress, missing: ["eye"] },
    }));
    const el = mount(model);
    const details = el.querySelector(".aw-search");
    expect(details.open).toBe(true);
    expect(el.querySelector(".aw-search-title").textContent).toContain('"eye"');
    el.querySelector(".aw-search-input").value = "  retinal detachment ";
    el.querySelector(".aw-search-form").dispatchEvent(new Event("submit", { cancelable: true }));
    expect(model.sent).toEqual([{ kind: "search", query: "retinal detachment" }]);
    model.set("search", {
      query: "retinal detachment", busy: false, seconds: 0.05,
      results: [
        { id: 7, text: "Retinal detachment", similarity: 0.91, label: null, skipped: false },
        { id: 8, text: "Retinal tear", similarity: 0.8, label: "eye", skipped: false },
      ],
    });
    const hits = [...el.querySelectorAll(".aw-hit")];
    expect(hits).toHaveLength(2);
    expect(hits[1].querySelector("button")).toBeNull();
    expect(hits[1].textContent).toContain("labelled eye");
    hits[0].querySelector('button[data-label="eye"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "seed", ids: [7], label: "eye" });
  });

  it("shows errors under the widget until dismissed", () => {
    const model = new FakeModel();
    const el = mount(model);
    const box = el.querySelector(".aw-error");
    expect(box.hidden).toBe(true);
    model.set("error", "text 99 is not in the current batch");
    expect(box.hidden).toBe(false);
    expect(box.textContent).toContain("text 99 is not in the current batch");
    box.querySelector(".aw-dismiss").click();
    expect(model.get("error")).toBe("");
    expect(model.saves).toBe(1);
    expect(box.hidden).toBe(true);
  });

  it("shows a message from the kernel that it refused on every view's error line, reported once, kept from the kernel", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const model = new FakeModel();
    const views = [mount(model), mount(model)];
    const boxes = views.map((el) => el.querySelector(".aw-error"));
    expect(() => {
      for (const fn of model.handlers.get("msg:custom")) fn({ kind: "explode" }, []);
    }).not.toThrow();
    for (const box of boxes) {
      expect(box.hidden).toBe(false);
      expect(box.textContent).toContain('refused a message from the kernel: unknown kind "explode"');
    }
    expect(errors).toHaveBeenCalledTimes(1);
    expect(model.get("error")).toBe("");
    expect(model.saves).toBe(0);
    model.set("error", "text 99 is not in the current batch"); // the kernel's own error replaces it
    expect(boxes[0].textContent).toContain("text 99");
    expect(boxes[0].textContent).not.toContain("explode");
    for (const fn of model.handlers.get("msg:custom")) fn({ kind: "map_text" }, []);
    boxes[1].querySelector(".aw-dismiss").click();
    expect(boxes[1].hidden).toBe(true);
    expect(model.get("error")).toBe("");
  });
});

describe("views", () => {
  it("keeps two views of one model in step, each with its own focus", () => {
    const model = new FakeModel();
    const a = mount(model);
    const b = mount(model);
    key(root(a), "ArrowDown");
    expect(cards(a)[1].classList.contains("aw-focused")).toBe(true);
    expect(cards(b)[0].classList.contains("aw-focused")).toBe(true);
    model.set("answers", { 11: "eye" });
    for (const el of [a, b]) expect(cards(el)[1].dataset.answer).toBe("eye");
    model.set("batch", [{ ...initialState().batch[2], id: 40 }]);
    for (const el of [a, b]) expect(cards(el).map((c) => c.dataset.id)).toEqual(["40"]);
  });

  it("cleans up every listener when a view goes away", () => {
    const model = new FakeModel();
    mount(model);
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanups.pop()();
    expect(model.listenerCount()).toBe(0);
    expect(hosts[0].querySelector(".aw-root")).toBeNull();
  });
});
