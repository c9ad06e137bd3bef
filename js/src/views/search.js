// Search by meaning (encoder + index): how a class with no label yet gets its first ones.
// Results carry a button per class; a click labels the text at once (a seed label).
import { h, replace } from "../dom.js";
import { listen, msg } from "../model.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function searchView({ model }) {
  const input = h("input", { type: "search", class: "aw-search-input", placeholder: "describe what you look for, e.g. retinal detachment", "aria-label": "search texts by meaning" });
  const go = h("button", { type: "submit", class: "aw-search-go" }, "Search");
  const form = h("form", { class: "aw-search-form" }, input, go);
  const note = h("p", { class: "aw-search-note" });
  const results = h("ol", { class: "aw-results" });
  const title = h("summary", { class: "aw-search-title" });
  const el = h("details", { class: "aw-search" }, title, form, note, results);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = /** @type {HTMLInputElement} */ (input).value.trim();
    if (query) model.send(msg.search(query));
  });

  function update() {
    const phase = model.get("phase");
    const missing = model.get("progress")?.missing ?? [];
    const cold = phase === "cold" && missing.length > 0;
    title.textContent = cold ? `Find examples of ${missing.map((c) => `"${c}"`).join(", ")} to start` : "Search by meaning";
    if (cold) /** @type {HTMLDetailsElement} */ (el).open = true;
    el.classList.toggle("aw-cold", cold);
    const search = model.get("search") ?? { query: "", busy: false, results: [] };
    const batchIds = new Set(model.get("batch").map((c) => c.id));
    note.textContent = search.busy
      ? `searching for "${search.query}"…`
      : search.query
        ? `${search.results.length} texts nearest to "${search.query}"${search.seconds ? ` (${search.seconds.toFixed(2)} s)` : ""}`
        : "";
    const classes = model.get("classes");
    replace(results, ...search.results.map((hit) => {
      const taken = hit.label !== null || hit.skipped || batchIds.has(hit.id);
      const state = hit.label !== null ? `labelled ${hit.label}` : hit.skipped ? "skipped" : batchIds.has(hit.id) ? "in the batch" : "";
      return h(
        "li",
        { class: "aw-hit", dataset: { id: String(hit.id), label: hit.label ?? "" } },
        h("span", { class: "aw-sim", title: "similarity to the query" }, hit.similarity.toFixed(2)),
        h("span", { class: "aw-hit-text" }, hit.text),
        h(
          "span",
          { class: "aw-hit-buttons" },
          state ? h("span", { class: "aw-hit-state" }, state) : null,
          ...(taken ? [] : classes.map((c) => h("button", { type: "button", class: "aw-seed", dataset: { label: c }, onclick: () => model.send(msg.seed([hit.id], c)) }, c))),
        ),
      );
    }));
  }
  const stop = listen(model, ["search", "phase", "progress", "classes", "batch"], update);
  update();
  /** Open the search with its last query selected, so that typing replaces it. */
  function focus() {
    /** @type {HTMLDetailsElement} */ (el).open = true;
    input.focus();
    /** @type {HTMLInputElement} */ (input).select();
  }
  return { el, focus, destroy: stop };
}
