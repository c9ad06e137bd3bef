// The panel of a clicked map point: its whole text (as text, never HTML), where it stands
// (mapstanding.js) and, unless it is labelled, a button per class: a batch item's answer is a
// draft, as on its card (`label`); any other point is labelled at once (`seed`).
import { h, replace } from "../dom.js";
import { standing, standingNote } from "../mapstanding.js";
import { listen, msg } from "../model.js";

/**
 * @param {{
 *   model: import("../model.js").AnyModel,
 *   state: () => import("../mapdata.js").MapState,
 *   texts: ReturnType<typeof import("../maptexts.js").mapTexts>,
 * }} ctx
 */
export function mapPicked({ model, state, texts }) {
  const el = h("div", { class: "aw-map-picked", hidden: true });
  /** @type {number | null} */
  let picked = null;

  /** Show the clicked point, if any, as it stands now. */
  function show() {
    if (picked === null) return;
    const id = picked;
    const current = state();
    const spot = standing(current, model.get("batch"), id);
    const note = standingNote(spot, id, model.get("answers") ?? {});
    const text = texts.textOf(id, current.texts) ?? "…";
    const buttons =
      spot.where === "labelled"
        ? []
        : (model.get("classes") ?? []).map((c) =>
            h("button", {
              type: "button", class: "aw-class", dataset: { label: c },
              onclick: () => model.send(spot.where === "batch" ? msg.label(model.get("iteration"), [id], c) : msg.seed([id], c)),
            }, c),
          );
    const close = h("button", { type: "button", class: "aw-map-close", title: "close", onclick: () => { picked = null; el.hidden = true; } }, "×");
    replace(
      el,
      h("div", { class: "aw-map-picked-head" }, h("span", { class: "aw-id" }, `#${id}`), h("span", { class: "aw-map-note" }, note), close),
      h("p", { class: "aw-text" }, text), // text, never HTML
      buttons.length ? h("div", { class: "aw-buttons" }, ...buttons) : null,
    );
    el.dataset.id = String(id);
    el.hidden = false;
  }

  const stop = listen(model, ["batch", "answers"], show);
  return {
    el,
    show,
    /** Show a clicked point, asking the kernel for its whole text. @param {number} id */
    pick(id) {
      picked = id;
      texts.ask(id);
      show();
    },
    destroy: stop,
  };
}
