// Errors under the widget, in plain words, until dismissed or replaced: the kernel's (the
// `error` trait), the front end's own word of a message from the kernel it refused or could
// not show (protocol.js), and what the front end does not carry (frontcheck.js). The last two
// stay in this view and never go back to the kernel.
import { h } from "../dom.js";
import { listen } from "../model.js";
import { onMessageProblem } from "../protocol.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function errorView({ model }) {
  const text = h("span", { class: "aw-error-text" });
  const dismiss = h("button", { type: "button", class: "aw-dismiss", "aria-label": "dismiss the error" }, "×");
  const el = h("div", { class: "aw-error", role: "alert", hidden: true }, text, dismiss);
  /** the last problem with a message from the kernel, until the kernel's error replaces it */
  let refused = "";
  /** what this front end does not carry, until the kernel's answer shows that it does */
  let carried = "";
  dismiss.addEventListener("click", () => {
    refused = "";
    carried = "";
    model.set("error", "");
    model.save_changes();
    update();
  });
  function update() {
    const error = refused || carried || model.get("error");
    text.textContent = error;
    el.hidden = !error;
  }
  const stops = [
    listen(model, ["error"], () => {
      refused = "";
      update();
    }),
    onMessageProblem(model, (problem) => {
      refused = problem;
      update();
    }),
  ];
  update();
  /** @param {string} problem what the front end does not carry ("" for nothing) */
  function frontEnd(problem) {
    carried = problem;
    update();
  }
  return { el, frontEnd, destroy: () => stops.forEach((stop) => stop()) };
}
