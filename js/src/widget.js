// anchoral-widget's Labeller front end (anywidget): one root element per view, made of
// independent views (status, cards, map, curves, search, help, review, stopping, error) that read the same model.
// A second view of the same widget is a second call of render(); each cleans up after itself.
// anywidget reads the module's default export ({render}); a `render` exported by name is the
// older form, which it warns about on every load.
import "./widget.css";
import { h } from "./dom.js";
import { checkFrontEnd } from "./frontcheck.js";
import { commandFor, keepFromJupyter } from "./keys.js";
import { outOfView, searchFirst } from "./logic.js";
import { cardsView } from "./views/cards.js";
import { curvesView } from "./views/curves.js";
import { errorView } from "./views/error.js";
import { helpView } from "./views/help.js";
import { mapView } from "./views/map.js";
import { reviewView } from "./views/review.js";
import { searchView } from "./views/search.js";
import { selectionView } from "./views/selection.js";
import { statusView } from "./views/status.js";
import { stoppingView } from "./views/stopping.js";

/** @param {EventTarget | null} target */
function isTextField(target) {
  return target instanceof HTMLElement && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
}

/** How long after the widget first needs the person it checks that they can see it (a "Run All" scrolls on). */
const REVEAL_AFTER_MS = 1500;

/** The DOM event that shows a selection in the side panel, as the map's lasso does: detail {ids}. */
export const SELECT_EVENT = "anchoral-select";

/**
 * @param {{model: import("./model.js").AnyModel, el: HTMLElement}} ctx
 * @returns {() => void} clean-up
 */
function render({ model, el }) {
  const status = statusView({ model });
  const help = helpView({ model });
  // a stored selection is let go on the map too (called later, once `map` exists)
  const selection = selectionView({ model, onStored: () => /** @type {any} */ (map).clearSelection?.() });
  const map = mapView({ model, onSelect: (/** @type {number[]} */ ids) => selection.show(ids) });
  const curves = curvesView({ model });
  const cards = cardsView({ model, onHover: map.highlight });
  const search = searchView({ model });
  const error = errorView({ model });
  const review = reviewView({ model });
  const stopping = stoppingView({ model });
  const views = [status, help, review, stopping, cards, map, selection, curves, search, error];
  const work = h("div", { class: "aw-work" }, cards.el); // the cards, and before them the search at a cold start

  const root = h(
    "div",
    // data-lm-suppress-shortcuts: JupyterLab's command registry ignores keys from inside
    { class: "aw-root", tabindex: "0", "data-lm-suppress-shortcuts": "true", "aria-label": "AnchorAL labeller" },
    h("div", { class: "aw-header" }, status.el, stopping.el, review.el, help.el),
    help.panel, // in the flow, above the cards and the map: it pushes them down, covers nothing
    review.panel,
    stopping.panel,
    h("div", { class: "aw-main" }, work, h("div", { class: "aw-side" }, map.el, selection.el, curves.el)),
    search.el,
    error.el,
  );
  /** @param {Event} event */
  const onSelectEvent = (event) => selection.show(/** @type {CustomEvent} */ (event).detail?.ids ?? []);
  root.addEventListener(SELECT_EVENT, onSelectEvent);

  /** @param {KeyboardEvent} event */
  function onKeydown(event) {
    if (!keepFromJupyter(event)) return;
    event.stopPropagation(); // the notebook never sees keys typed in the widget
    if (isTextField(event.target)) {
      if (event.key === "Escape") {
        event.preventDefault(); // a search box would clear its query: '/' brings it back, selected
        root.focus();
      }
      return; // typing in the search box
    }
    if (review.isOpen() && review.command(event)) {
      event.preventDefault(); // the review view's own keys, while it is open
      return;
    }
    const cmd = commandFor(event, model.get("classes").length);
    if (!cmd) return;
    if (review.isOpen() && cmd.type !== "help" && cmd.type !== "search") return; // the batch waits meanwhile
    let done = true;
    if (cmd.type === "help") help.toggle();
    else if (cmd.type === "search") search.focus();
    else if (cmd.type === "review") review.toggle(true);
    else if (cmd.type === "escape") {
      if (help.isOpen()) help.toggle(false);
      else root.blur();
    } else done = cards.command(cmd);
    if (done) event.preventDefault();
  }
  root.addEventListener("keydown", onKeydown);

  let revealed = false;
  function syncAttributes() {
    const phase = model.get("phase");
    root.dataset.phase = phase;
    root.dataset.iteration = String(model.get("iteration"));
    if (searchFirst(phase, model.get("batch"))) work.prepend(search.el);
    else if (search.el.parentElement === work) root.insertBefore(search.el, error.el);
    if (!revealed && (phase === "cold" || phase === "ready")) {
      revealed = true; // once: when there is first something to do, after the notebook's own scrolling
      setTimeout(() => {
        if (root.isConnected && outOfView(root.getBoundingClientRect(), window.innerHeight)) root.scrollIntoView({ block: "start" });
      }, REVEAL_AFTER_MS);
    }
  }
  model.on("change:phase", syncAttributes);
  model.on("change:iteration", syncAttributes);
  model.on("change:batch", syncAttributes);
  syncAttributes();

  el.append(root);
  const stopCheck = checkFrontEnd(model, (problem) => {
    error.frontEnd(problem);
    root.dataset.messages = problem ? "not-carried" : "carried"; // what the browser tests read
  });
  return () => {
    stopCheck();
    root.removeEventListener("keydown", onKeydown);
    root.removeEventListener(SELECT_EVENT, onSelectEvent);
    model.off("change:phase", syncAttributes);
    model.off("change:iteration", syncAttributes);
    model.off("change:batch", syncAttributes);
    for (const view of views) view.destroy();
    root.remove();
  };
}

export default { render };
