// Errors from the kernel, under the widget, in plain words, until dismissed or replaced.
import { h } from "../dom.js";
import { listen } from "../model.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function errorView({ model }) {
  const text = h("span", { class: "aw-error-text" });
  const dismiss = h("button", { type: "button", class: "aw-dismiss", "aria-label": "dismiss the error" }, "×");
  const el = h("div", { class: "aw-error", role: "alert", hidden: true }, text, dismiss);
  dismiss.addEventListener("click", () => {
    model.set("error", "");
    model.save_changes();
  });
  function update() {
    const error = model.get("error");
    text.textContent = error;
    el.hidden = !error;
  }
  const stop = listen(model, ["error"], update);
  update();
  return { el, destroy: stop };
}
