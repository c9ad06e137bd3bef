// A stand-in for anywidget's model: traits in a Map, change events, and the messages sent.

/** @returns {import("../src/model.js").Model} */
export function initialState(overrides = {}) {
  return {
    classes: ["other", "eye"],
    minority: ["eye"],
    batch: [
      { id: 10, text: "Cataract, left eye", predicted: "eye", confidence: 0.81, proba: [0.19, 0.81], score: 0.74, anchor: { id: 3, text: "Glaucoma", label: "eye", similarity: 0.71 } },
      { id: 11, text: "Fracture of one rib", predicted: "other", confidence: 0.93, proba: [0.93, 0.07], score: 0.52, anchor: null },
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
    this.sent.push(content);
  }
  listenerCount() {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}
