// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { command, messageProblems, onMessageProblem, problems, PROTOCOL, receive } from "../src/protocol.js";
import { mapView } from "../src/views/map.js";
import widget from "../src/widget.js";
import { FakeModel, initialState } from "./fake-model.js";
import { firstMap, payload } from "./map-payload.js";
import modelSource from "../src/model.js?raw";

const { render } = widget;

let cleanups = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
  vi.restoreAllMocks();
});

describe("the declaration", () => {
  it("names every command's fields with a known type", () => {
    expect(Object.keys(PROTOCOL.commands)).toEqual(["label", "skip", "rest", "undo", "submit", "search", "seed", "retry", "hello", "map_sync", "map_text", "label_selection", "skip_selection", "undo_selection", "review_page", "review_correct", "review_resolve", "review_remove", "stopping", "check_sample", "check_answer"]);
    for (const declared of [PROTOCOL.commands, PROTOCOL.messages]) {
      for (const { fields } of Object.values(declared)) {
        for (const field of Object.values(fields)) expect(Object.keys(PROTOCOL.types)).toContain(field.type);
      }
    }
  });

  it("names the traits of the Model type and of the fake model", () => {
    const modelType = /classes: string\[\][\s\S]*?\}\} Model/.exec(modelSource)[0];
    const names = [...modelType.matchAll(/(\w+):/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set(Object.keys(PROTOCOL.traits)));
    expect(new Set(Object.keys(initialState()))).toEqual(new Set(Object.keys(PROTOCOL.traits)));
  });
});

describe("checking a message", () => {
  it("accepts a declared command", () => {
    expect(problems({ kind: "label", iteration: 0, ids: [3, 4], label: "eye" })).toEqual([]);
    expect(problems({ kind: "retry" })).toEqual([]);
    expect(command("seed", { ids: [7], label: "eye" })).toEqual({ kind: "seed", ids: [7], label: "eye" });
  });

  it.each([
    [{ kind: "explode" }, 'unknown kind "explode"'],
    ["label", "unknown kind"],
    [{ kind: "retry", force: true }, 'retry has no field "force"'],
    [{ kind: "label", ids: [1], label: "eye" }, 'label needs "iteration" (the batch it is for)'],
    [{ kind: "undo", iteration: undefined }, 'undo needs "iteration"'],
    [{ kind: "undo", iteration: 1.5 }, '"iteration" must be an integer, got 1.5'],
    [{ kind: "undo", iteration: true }, '"iteration" must be an integer'],
    [{ kind: "skip", iteration: 0, ids: [] }, '"ids" must be a non-empty list of integer ids'],
    [{ kind: "skip", iteration: 0, ids: [1, 1] }, '"ids" must be'],
    [{ kind: "skip", iteration: 0, ids: ["1"] }, '"ids" must be'],
    [{ kind: "search", query: 3 }, '"query" must be a string'],
    [{ kind: "rest", iteration: 0, label: null }, '"label" must be the name of one of the classes'],
  ])("finds what is wrong with %j", (content, problem) => {
    expect(problems(content).join("; ")).toContain(problem);
  });

  it("refuses to build a command the declaration lacks", () => {
    expect(() => command("explode")).toThrow(/unknown kind "explode"/);
    expect(() => command("skip", { iteration: 0, ids: [1], label: "eye" })).toThrow(/skip has no field "label"/);
  });

  it("checks the kernel's messages too: the map payloads the tests use follow the declaration", () => {
    expect(problems(firstMap().header, PROTOCOL.messages)).toEqual([]);
    expect(problems(payload({ full: false, iteration: 2 }).header, PROTOCOL.messages)).toEqual([]);
    expect(problems({ kind: "map_text", texts: { 4: "Otitis" } }, PROTOCOL.messages)).toEqual([]);
    expect(problems({ kind: "map_update", full: true }, PROTOCOL.messages).join("; ")).toContain('needs "layers"');
  });
});

const selectionAnswer = { kind: "selection", action: "label", label: "eye", count: 2, left_out: 0, text: "labelled 2 texts eye", undoable: true };

describe("checking a message from the kernel", () => {
  it("accepts the kernel's messages, with binary buffers where declared", () => {
    const { header, buffers } = firstMap();
    expect(messageProblems(header, buffers)).toEqual([]);
    expect(messageProblems(header, buffers.map((b) => b.buffer))).toEqual([]); // ArrayBuffers, as some front ends give
    expect(messageProblems(payload({ full: false }).header, [])).toEqual([]); // nothing changed: no buffers
    expect(messageProblems({ kind: "map_text", texts: { 4: "Otitis" } }, [])).toEqual([]);
    expect(messageProblems({ kind: "map_text", texts: {} })).toEqual([]); // a comm may give no list
    expect(messageProblems(selectionAnswer, [])).toEqual([]);
  });

  it.each([
    ["an unknown kind", { kind: "map_updates" }, [], 'unknown kind "map_updates"; expected one of map_update, hello, map_text, review_page, stopping, selection'],
    ["no message", null, [], "unknown kind undefined"],
    ["a missing field", { kind: "map_text" }, [], 'map_text needs "texts"'],
    ["a field left undefined", { ...selectionAnswer, text: undefined }, [], 'selection needs "text"'],
    ["a mistyped field", { ...selectionAnswer, count: "2" }, [], '"count" must be an integer, got "2"'],
    ["an undeclared field", { ...selectionAnswer, extra: 1 }, [], 'selection has no field "extra"'],
    ["buffers where none come", { kind: "map_text", texts: {} }, [new ArrayBuffer(4)], "map_text carries no binary buffers, got 1"],
    ["buffers that are not bytes", firstMap().header, [[1, 2, 3]], "map_update: every buffer must be binary"],
    ["buffers that are not a list", firstMap().header, "buffers", "map_update: its buffers must be a list"],
  ])("finds what is wrong: %s", (_, content, buffers, problem) => {
    expect(messageProblems(content, buffers).join("; ")).toContain(problem);
  });
});

describe("receiving a message from the kernel", () => {
  const deliver = (model, content, buffers = []) => {
    for (const fn of model.handlers.get("msg:custom") ?? []) fn(content, buffers);
  };

  it("takes handlers only for the kinds the kernel sends", () => {
    expect(() => receive(new FakeModel(), { map_updates: () => {} })).toThrow(/the kernel sends no "map_updates" message; it sends map_update, hello, map_text, review_page, stopping, selection/);
  });

  it("hands each message, checked, to the handlers of its kind, in every view; the last to stop takes the listener away", () => {
    const model = new FakeModel();
    const got = [];
    const stops = [
      receive(model, { selection: (content, buffers) => got.push(["a", content.kind, buffers.length]) }),
      receive(model, { map_text: (content) => got.push(["b", content.kind]), selection: () => got.push(["b", "selection"]) }),
    ];
    expect(model.listenerCount()).toBe(1); // one checked path per model
    deliver(model, selectionAnswer);
    deliver(model, { kind: "map_text", texts: {} }, undefined);
    expect(got).toEqual([["a", "selection", 0], ["b", "selection"], ["b", "map_text"]]);
    stops[0]();
    stops[0]();
    expect(model.listenerCount()).toBe(1);
    stops[1]();
    expect(model.listenerCount()).toBe(0);
  });

  it("refuses an unknown or malformed message: no handler sees it, and it is reported once, however many views listen", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const model = new FakeModel();
    const seen = [];
    const heard = [];
    cleanups.push(
      receive(model, { selection: (c) => seen.push(c) }),
      receive(model, { selection: (c) => seen.push(c) }),
      onMessageProblem(model, (problem) => heard.push(problem)),
    );
    expect(() => deliver(model, { kind: "explode" })).not.toThrow();
    expect(() => deliver(model, { ...selectionAnswer, text: undefined })).not.toThrow();
    expect(() => deliver(model, "selection")).not.toThrow();
    expect(seen).toEqual([]);
    expect(heard).toHaveLength(3);
    expect(heard[0]).toMatch(/^refused a message from the kernel: unknown kind "explode"/);
    expect(heard[1]).toContain('selection needs "text" (what happened, in words)');
    expect(errors.mock.calls.map((call) => call[0])).toEqual(heard.map((problem) => `anchoral-widget: ${problem}`));
  });

  it("reports a handler that fails, and still hands the message to the other views", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const model = new FakeModel();
    const seen = [];
    const heard = [];
    cleanups.push(
      receive(model, { selection: () => { throw new Error("no such layer"); } }),
      receive(model, { selection: (c) => seen.push(c.count) }),
      onMessageProblem(model, (problem) => heard.push(problem)),
    );
    expect(() => deliver(model, selectionAnswer)).not.toThrow();
    expect(seen).toEqual([2]);
    expect(heard).toEqual(['a "selection" message from the kernel could not be shown: no such layer']);
    expect(errors).toHaveBeenCalledTimes(1);
  });

  it("is the one way the views hear the kernel: no view compares a message's kind itself", () => {
    const views = import.meta.glob("../src/views/*.js", { query: "?raw", import: "default", eager: true });
    expect(Object.keys(views)).toContain("../src/views/map.js");
    for (const [path, source] of Object.entries(views)) {
      expect(source, path).not.toMatch(/msg:custom|\.kind\s*[!=]==|[!=]==\s*\w+\.kind/);
    }
  });
});

/** A stand-in for regl-scatterplot that lets the test click a point. */
function fakeScatterplot() {
  const handlers = new Map();
  const sp = {
    draw: () => Promise.resolve(), set() {}, get: (name) => (name === "points" ? [] : undefined),
    subscribe: (event, fn) => handlers.set(event.toLowerCase(), fn), deselect() {}, destroy() {}, zoomToArea() {},
    fire: (event, payload) => handlers.get(event.toLowerCase())?.(payload),
  };
  return { sp, load: () => Promise.resolve(() => sp) };
}

const key = (target, k, extra = {}) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));

describe("the views", () => {
  it("send every declared command, each as declared (the fake model checks every message)", async () => {
    const model = new FakeModel();
    const el = document.createElement("div");
    document.body.append(el);
    cleanups.push(render({ model, el }), () => el.remove());
    const root = el.querySelector(".aw-root");
    key(root, "1", { code: "Digit1" }); // label
    key(root, "s"); // skip
    key(root, "u"); // undo
    key(root, "r"); // rest
    model.set("answers", { 10: "eye", 11: null, 12: "other" });
    key(root, "Enter"); // submit
    el.querySelector(".aw-search-input").value = "retina";
    el.querySelector(".aw-search-form").dispatchEvent(new Event("submit", { cancelable: true })); // search
    model.set("search", { query: "retina", busy: false, seconds: 0.1, results: [{ id: 7, text: "Retina", similarity: 0.9, label: null, skipped: false }] });
    el.querySelector('.aw-hit button[data-label="eye"]').click(); // seed
    model.set("phase", "error");
    el.querySelector(".aw-retry").click(); // retry
    const root2 = el.querySelector(".aw-root");
    const select = (ids) => root2.dispatchEvent(new CustomEvent("anchoral-select", { detail: { ids } }));
    const answer = (action) => { for (const fn of model.handlers.get("msg:custom")) fn({ kind: "selection", action, count: 2, left_out: 0, text: "", undoable: action !== "undo" }); };
    select([30, 31]);
    el.querySelector('.aw-selection-label[data-label="eye"]').click(); // label_selection
    answer("label");
    el.querySelector(".aw-selection-undo").click(); // undo_selection
    answer("undo");
    select([32]);
    el.querySelector(".aw-selection-skip").click(); // skip_selection
    key(root2, "v"); // review_page
    const reviewRow = { id: 5, text: "Iritis", label: "eye", annotator: "alice", iteration: 2, predicted: "other", confidence: 0.7, others: [], conflict: false };
    const reviewPage = { kind: "review_page", rows: [reviewRow], total: 1, offset: 0, annotators: ["alice"], iterations: [2], model: true, text: "", agreement: "" };
    for (const fn of model.handlers.get("msg:custom")) fn(reviewPage);
    key(root2, "1"); // review_correct
    for (const fn of model.handlers.get("msg:custom")) fn({ ...reviewPage, rows: [{ ...reviewRow, conflict: true }] });
    key(root2, "2"); // review_resolve
    key(root2, "x"); // review_remove
    el.querySelector(".aw-stopping-button").click(); // stopping
    el.querySelector(".aw-check-draw").click(); // check_sample
    for (const fn of model.handlers.get("msg:custom")) fn({ kind: "stopping", lines: ["2 rare items found."], open: [{ id: 40, text: "Iritis" }], unanswered: 1, said: "" });
    el.querySelector('.aw-check-answer[data-label="eye"]').click(); // check_answer

    const mapModel = new FakeModel(initialState({ map_status: { status: "ready", fraction: 1, text: "" } }));
    const scatterplot = fakeScatterplot();
    const map = mapView({ model: mapModel, renderer: scatterplot.load }); // map_sync
    cleanups.push(map.destroy);
    const { header, buffers } = firstMap();
    for (const fn of mapModel.handlers.get("msg:custom")) fn(header, buffers);
    await new Promise((r) => setTimeout(r, 0));
    scatterplot.sp.fire("select", { points: [4] }); // a click on a point: map_text

    const sent = [...model.sent, ...mapModel.sent];
    for (const content of sent) expect(problems(content)).toEqual([]);
    expect(new Set(sent.map((c) => c.kind))).toEqual(new Set(Object.keys(PROTOCOL.commands)));
  });
});
