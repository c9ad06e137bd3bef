// The stopping panel ("can I stop?"): the rare items found, the estimate of those left with its
// interval, and each stopping rule's verdict, in the kernel's words; a check sample drawn at
// random (not by the model) to estimate what is left, its texts shown as check cards, marked as
// such, each answered with a class. The kernel answers every command with the panel again (a
// stopping message), so what is shown is what is stored; an open panel asks again after each
// batch.
import { h, replace } from "../dom.js";
import { listen, msg } from "../model.js";
import { receive } from "../protocol.js";

/** How many texts one press of "draw a check sample" asks for. */
export const CHECK_SIZE = 20;

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function stoppingView({ model }) {
  /** @type {any} the last stopping message */
  let panelState = null;
  const button = h("button", { type: "button", class: "aw-stopping-button", "aria-expanded": "false", title: "have I found most of them? the estimate and the stopping rules" }, "can I stop?");
  const said = h("p", { class: "aw-stopping-said", role: "status" });
  const lines = h("ul", { class: "aw-stopping-lines" });
  const draw = h("button", { type: "button", class: "aw-check-draw" }, `draw ${CHECK_SIZE} texts at random to check`);
  const open = h("p", { class: "aw-check-note" });
  const cards = h("ol", { class: "aw-check-cards" });
  const panel = h(
    "div",
    { class: "aw-stopping", role: "region", "aria-label": "can I stop?", hidden: true },
    lines,
    h("div", { class: "aw-stopping-actions" }, draw, said),
    open,
    cards,
  );

  /** @param {boolean} [show] */
  function toggle(show = panel.hidden) {
    panel.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) model.send(msg.stopping());
  }
  button.addEventListener("click", () => toggle());
  draw.addEventListener("click", () => model.send(msg.checkSample(CHECK_SIZE)));

  function render() {
    if (!panelState) return;
    const classes = model.get("classes") ?? [];
    replace(lines, ...panelState.lines.map((/** @type {string} */ line) => h("li", { class: "aw-stopping-line" }, line)));
    said.textContent = panelState.said;
    open.textContent = panelState.unanswered
      ? `check sample: ${panelState.unanswered} texts to answer, drawn at random, not by the model. Answer each as you would a card: they estimate how many rare items are left.`
      : "";
    replace(cards, ...panelState.open.map((/** @type {{id: number, text: string}} */ card) =>
      h("li", { class: "aw-check-card", dataset: { id: String(card.id) } },
        h("span", { class: "aw-check-badge" }, "check sample"),
        h("span", { class: "aw-id" }, `#${card.id}`),
        h("div", { class: "aw-check-text" }, card.text),
        h("div", { class: "aw-check-actions" },
          ...classes.map((c) => h("button", { type: "button", class: "aw-check-answer", dataset: { label: c }, onclick: () => model.send(msg.checkAnswer([card.id], c)) }, c))))));
  }

  const stops = [
    receive(model, {
      stopping(content) {
        panelState = content;
        render();
      },
    }),
    listen(model, ["classes"], render),
    // a submitted batch brings labels: an open panel asks for the report again
    listen(model, ["iteration"], () => { if (!panel.hidden) model.send(msg.stopping()); }),
  ];
  return { el: button, panel, toggle, isOpen: () => !panel.hidden, destroy: () => { stops.forEach((stop) => stop()); panel.remove(); } };
}
