// The widget's model: these names are the Python trait names of anchoral_widget.widget.Labeller,
// to the letter (declared in anchoral_widget/protocol.py, TRAITS). Commands go to the kernel as
// custom messages {kind, ...} built by `msg`; the kernel answers by changing traits (errors land
// in `error`).
import { command } from "./protocol.js";

/**
 * @typedef {{id: number, text: string, label: string, similarity: number}} Anchor
 * @typedef {{
 *   id: number, text: string, predicted: string, confidence: number, proba: number[],
 *   score: number | null, anchor: Anchor | null, model_labelled?: number | null, model_stand_in?: boolean
 * }} Card
 * @typedef {{id: number, text: string, similarity: number, label: string | null, skipped: boolean}} Hit
 * @typedef {{
 *   labelled: number, skipped: number, budget: number | null, pool: number,
 *   counts: Record<string, number>, missing: string[], iteration: number
 * }} Progress
 * @typedef {{query: string, busy: boolean, results: Hit[], seconds: number | null}} Search
 * @typedef {{status: string, fraction: number, text: string}} MapStatus
 * @typedef {{traces: object[], titles: string[], estimate: boolean, test: boolean}} Curves
 * @typedef {{
 *   stage: string, text: string, done: number | null, total: number | null, rate: number | null,
 *   left: number | null, seconds: Record<string, number>, embeddings?: string | null
 * }} Startup
 * @typedef {{
 *   classes: string[], minority: string[], batch: Card[], answers: Record<string, string | null>,
 *   iteration: number, phase: string, status: string, seconds: Record<string, number>,
 *   progress: Progress, search: Search, error: string, map_status: MapStatus, curves: Curves,
 *   startup: Startup
 * }} Model
 *
 * The part of anywidget's model API that the views use.
 * @typedef {{
 *   get: <K extends keyof Model>(name: K) => Model[K],
 *   set: <K extends keyof Model>(name: K, value: Model[K]) => void,
 *   save_changes: () => void,
 *   on: (event: string, callback: Function) => void,
 *   off: (event: string, callback: Function) => void,
 *   send: (content: object) => void,
 * }} AnyModel
 */

/**
 * Messages to the kernel, one builder per command kind of anchoral_widget/protocol.py; each is
 * checked against the declaration (protocol.json) as it is built.
 */
export const msg = {
  /** @param {number} iteration @param {number[]} ids @param {string} label */
  label: (iteration, ids, label) => command("label", { iteration, ids, label }),
  /** @param {number} iteration @param {number[]} ids */
  skip: (iteration, ids) => command("skip", { iteration, ids }),
  /** @param {number} iteration @param {string} label */
  rest: (iteration, label) => command("rest", { iteration, label }),
  /** @param {number} iteration */
  undo: (iteration) => command("undo", { iteration }),
  /** @param {number} iteration */
  submit: (iteration) => command("submit", { iteration }),
  /** @param {string} query */
  search: (query) => command("search", { query }),
  /** @param {number[]} ids @param {string} label */
  seed: (ids, label) => command("seed", { ids, label }),
  retry: () => command("retry"),
  /** a view's first message (answered as {kind: "hello"} with a binary buffer) */
  hello: () => command("hello"),
  /** the whole map, for a view that opens late (the kernel answers with a full map_update) */
  mapSync: () => command("map_sync"),
  /** @param {number[]} ids the whole texts of clicked points (answered as {kind: "map_text"}) */
  mapText: (ids) => command("map_text", { ids }),
  /** @param {number[]} ids @param {string} label a selection's open texts get `label` (one event) */
  labelSelection: (ids, label) => command("label_selection", { ids, label }),
  /** @param {number[]} ids a selection's open texts are skipped (one event) */
  skipSelection: (ids) => command("skip_selection", { ids }),
  /** take back the last selection labelled or skipped */
  undoSelection: () => command("undo_selection"),
  /** @param {Record<string, string | number | boolean>} filters a page of past labels (answered as {kind: "review_page"}) */
  reviewPage: (filters) => command("review_page", filters),
  /** @param {number[]} ids @param {string} to @param {Record<string, string | number | boolean>} filters past labels get class `to` */
  reviewCorrect: (ids, to, filters) => command("review_correct", { ids, to, ...filters }),
  /** @param {number[]} ids @param {string} to @param {Record<string, string | number | boolean>} filters items people disagreed on get class `to`, decided */
  reviewResolve: (ids, to, filters) => command("review_resolve", { ids, to, ...filters }),
  /** the stopping panel: the report in words and the check-sample texts to answer (answered as {kind: "stopping"}) */
  stopping: () => command("stopping"),
  /** @param {number} size about this many unlabelled texts drawn at random to estimate the rare items left */
  checkSample: (size) => command("check_sample", { size }),
  /** @param {number[]} ids @param {string} label check-sample texts answered */
  checkAnswer: (ids, label) => command("check_answer", { ids, label }),
  /** @param {number[]} ids @param {Record<string, string | number | boolean>} filters past labels are taken away */
  reviewRemove: (ids, filters) => command("review_remove", { ids, ...filters }),
};

/**
 * Listen to `change:<name>` for each name; returns the function that stops listening.
 * @param {AnyModel} model @param {string[]} names @param {() => void} callback
 */
export function listen(model, names, callback) {
  for (const name of names) model.on(`change:${name}`, callback);
  return () => {
    for (const name of names) model.off(`change:${name}`, callback);
  };
}
