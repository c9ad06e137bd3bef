// Errors under the widget, in plain words, until dismissed or replaced: the kernel's (the
// `error` trait) and the front end's own word of a message from the kernel it refused or could
// not show (protocol.js), which stays in this view and never goes back to the kernel.
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
  dismiss.addEventListener("click", () => {
    refused = "";
    model.set("error", "");
    model.save_changes();
    update();
  });
  function update() {
    const error = refused || model.get("error");
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
  return { el, destroy: () => stops.forEach((stop) => stop()) };
}
