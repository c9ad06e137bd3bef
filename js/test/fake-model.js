// A stand-in for anywidget's model: traits in a Map, change events, and the messages sent.
// Every message a view sends and every trait it sets is checked against the protocol
// (anchoral_widget/protocol.py, via src/protocol.json): a test in which a view sends a kind or a
// field the declaration lacks, or sets a trait it does not name, fails after it.
import { afterEach, expect } from "vitest";
import { PROTOCOL, problems } from "../src/protocol.js";

/** @type {string[]} what the fake models of the running test saw that the protocol lacks */
const violations = [];
afterEach(() => {
  const found = violations.splice(0);
  expect(found, "messages or traits the protocol does not declare").toEqual([]);
});

/** @returns {import("../src/model.js").Model} */
export function initialState(overrides = {}) {
  return {
    classes: ["other", "eye"],
    minority: ["eye"],
    batch: [
      { id: 10, text: "Cataract, left eye", predicted: "eye", confidence: 0.81, proba: [0.19, 0.81], score: 0.74, anchor: { id: 3, text: "Glaucoma", label: "eye", similarity: 0.71 }, model_labelled: 350 },
      { id: 11, text: "Fracture of one rib", predicted: "other", confidence: 0.93, proba: [0.93, 0.07], score: 0.52, anchor: null, model_labelled: null },
      { id: 12, text: "Otitis media", predicted: "other", confidence: 0.66, proba: [0.66, 0.34], score: null, anchor: null },
    ],
    answers: {},
    iteration: 4,
    phase: "ready",
    status: "ready: 3 texts in 0.41 s",
    seconds: { train: 0.1, select: 0.3, total: 0.41 },
    progress: { labelled: 20, skipped: 1, budget: 100, pool: 2000, counts: { other: 17, eye: 3 }, missing: [], iteration: 4 },
    search: { query: "", busy: false, results: [], seconds: null },
    error: "",
    map_status: { status: "off", fraction: 0, text: "" },
    curves: {},
    startup: { stage: "ready", text: "", done: null, total: null, rate: null, left: null, seconds: { encoding: 1.5 } },
    ...overrides,
  };
}

export class FakeModel {
  constructor(state = initialState()) {
    this.state = new Map(Object.entries(state));
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** @type {object[]} */
    this.sent = [];
    this.saves = 0;
  }
  get(name) {
    return this.state.get(name);
  }
  set(name, value) {
    if (!Object.hasOwn(PROTOCOL.traits, name)) violations.push(`set an undeclared trait "${name}"`);
    this.state.set(name, value);
    for (const fn of [...(this.handlers.get(`change:${name}`) ?? [])]) fn();
  }
  save_changes() {
    this.saves += 1;
  }
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
  }
  off(event, fn) {
    this.handlers.get(event)?.delete(fn);
  }
  send(content) {
    violations.push(...problems(content).map((p) => `sent ${JSON.stringify(content)}: ${p}`));
    this.sent.push(content);
  }
  listenerCount() {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}
