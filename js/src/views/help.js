// The "?" button and the panel listing the keyboard shortcuts. The panel is placed by the widget
// in the flow of the page (below the header), so that it pushes the cards and the map down
// instead of covering them.
import { h } from "../dom.js";
import { SHORTCUTS } from "../keys.js";
import { listen } from "../model.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function helpView({ model }) {
  const button = h("button", { type: "button", class: "aw-help-button", "aria-expanded": "false", "aria-label": "keyboard shortcuts", title: "keyboard shortcuts (?)" }, "?");
  const classes = h("p", { class: "aw-help-classes" });
  const rows = SHORTCUTS.map(({ keys, does }) =>
    h("tr", {}, h("td", {}, ...keys.map((k) => h("kbd", {}, k))), h("td", {}, does)),
  );
  const popover = h(
    "div",
    { class: "aw-help", role: "region", "aria-label": "keyboard shortcuts", hidden: true },
    h("strong", {}, "Keyboard shortcuts"),
    h("p", {}, "They work while the widget has focus (click on it)."),
    h("table", {}, h("tbody", {}, ...rows)),
    classes,
  );
  const el = h("div", { class: "aw-help-view" }, button);

  function updateClasses() {
    classes.textContent = (model.get("classes") ?? []).map((c, i) => `${i + 1} = ${c}`).join(" · ");
  }
  /** @param {boolean} [open] */
  function toggle(open = popover.hidden) {
    popover.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  }
  button.addEventListener("click", () => toggle());
  const stop = listen(model, ["classes"], updateClasses);
  updateClasses();
  return { el, panel: popover, toggle, isOpen: () => !popover.hidden, destroy: () => { stop(); popover.remove(); } };
}
