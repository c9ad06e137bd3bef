// The selection's side panel: the texts drawn around on the map (their count, the first few),
// "label all as <class>" and "skip all", each stored by the kernel as ONE undoable event, then
// what was stored and an Undo. The map calls `show(ids)` with its selection ([] when cleared).
// Only open texts are stored (not labelled, skipped or on a card of the batch); the kernel's
// answer (a `selection` message) says how many were left as they were.
import { h, replace } from "../dom.js";
import { count, selectionHeadline, SELECTION_SHOWN, textsToFetch } from "../logic.js";
import { listen, msg } from "../model.js";
import { receive } from "../protocol.js";

/**
 * @param {{model: import("../model.js").AnyModel, onStored?: () => void, shown?: number}} ctx
 * onStored: a selection was labelled or skipped (the map clears its selection)
 */
export function selectionView({ model, onStored = () => {}, shown = SELECTION_SHOWN }) {
  /** @type {number[]} */
  let ids = [];
  /** @type {string | null} what the kernel is storing ("label" / "skip" / "undo"), null when idle */
  let busy = null;
  /** @type {Map<number, string>} */
  const texts = new Map();

  const headline = h("strong", { class: "aw-selection-count" });
  const clear = h("button", { type: "button", class: "aw-selection-clear", title: "forget the selection" }, "×");
  const list = h("ol", { class: "aw-selection-texts" });
  const more = h("p", { class: "aw-selection-more" });
  const labelButtons = h("span", { class: "aw-selection-labels" });
  const skip = h("button", { type: "button", class: "aw-selection-skip", title: "skip every open text of the selection" }, "skip all");
  const actions = h("div", { class: "aw-selection-actions" }, labelButtons, skip);
  const picked = h("div", { class: "aw-selection-picked" }, h("div", { class: "aw-selection-head" }, headline, clear), list, more, actions);
  const note = h("span", { class: "aw-selection-note", role: "status" });
  const undo = h("button", { type: "button", class: "aw-selection-undo", title: "take the whole selection back" }, "Undo");
  const done = h("div", { class: "aw-selection-done", hidden: true }, note, undo);
  const el = h("div", { class: "aw-selection", hidden: true, "aria-label": "selection from the map" }, picked, done);

  clear.addEventListener("click", () => show([]));
  skip.addEventListener("click", () => store("skip", null));
  undo.addEventListener("click", () => {
    busy = "undo";
    undo.disabled = true;
    model.send(msg.undoSelection());
  });

  /** @param {string} action @param {string | null} label */
  function store(action, label) {
    if (!ids.length || busy) return;
    busy = action;
    model.send(label === null ? msg.skipSelection(ids) : msg.labelSelection(ids, label));
    note.textContent = `storing ${count(ids.length)} ${ids.length === 1 ? "text" : "texts"}…`;
    done.hidden = false;
    undo.hidden = true;
    updateButtons();
  }

  /**
   * Show a selection (the map's; [] when it is cleared).
   * @param {number[]} selected
   */
  function show(selected) {
    ids = [...selected];
    const ask = textsToFetch(ids, texts, shown);
    if (ask.length) model.send(msg.mapText(ask));
    render();
  }

  function render() {
    picked.hidden = ids.length === 0;
    el.hidden = picked.hidden && done.hidden;
    if (picked.hidden) return;
    headline.textContent = selectionHeadline(ids.length);
    replace(list, ...ids.slice(0, shown).map((id) =>
      h("li", { class: "aw-selection-text", dataset: { id: String(id) } }, h("span", { class: "aw-id" }, `#${id}`), " ", texts.get(id) ?? "…"),
    ));
    more.textContent = ids.length > shown ? `and ${count(ids.length - shown)} more` : "";
    replace(labelButtons, ...model.get("classes").map((c) =>
      h("button", { type: "button", class: model.get("minority").includes(c) ? "aw-selection-label aw-minority" : "aw-selection-label", dataset: { label: c }, onclick: () => store("label", c) }, `label all as ${c}`),
    ));
    updateButtons();
  }

  function updateButtons() {
    for (const b of el.querySelectorAll(".aw-selection-actions button")) /** @type {HTMLButtonElement} */ (b).disabled = busy !== null;
  }

  /** @type {Record<string, import("../protocol.js").Handler>} the kernel's messages, checked on arrival */
  const handlers = {
    map_text(content) {
      for (const [id, text] of Object.entries(content.texts)) texts.set(Number(id), text);
      if (ids.length) render();
    },
    selection(content) {
      // this view's own selection is stored: the map lets it go (another view's answer only informs)
      const mine = content.action !== "undo" && (busy === "label" || busy === "skip");
      busy = null;
      note.textContent = content.text;
      done.hidden = false;
      undo.hidden = !content.undoable;
      undo.disabled = false;
      if (mine) {
        ids = [];
        onStored();
      }
      render();
    },
  };

  /** The kernel refused (the error line says why): the selection stays, to try again. */
  function onError() {
    if (!busy || !model.get("error")) return;
    if (busy === "undo") undo.disabled = false;
    else done.hidden = true;
    busy = null;
    render();
  }

  const stops = [receive(model, handlers), listen(model, ["classes", "minority"], render), listen(model, ["error"], onError)];
  render();
  return {
    el,
    show,
    /** the ids shown now */
    selected: () => [...ids],
    destroy() {
      stops.forEach((stop) => stop());
    },
  };
}
