// The status line ("training…", "selecting…", "ready" with seconds) and progress: labelled /
// budget, per-class counts, iteration.
import { h, replace } from "../dom.js";
import { count, progressFraction, progressText } from "../logic.js";
import { listen, msg } from "../model.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function statusView({ model }) {
  const line = h("span", { class: "aw-status-text" });
  const retry = h("button", { type: "button", class: "aw-retry", hidden: true }, "Retry");
  retry.addEventListener("click", () => model.send(msg.retry()));
  const status = h("div", { class: "aw-status", role: "status", "aria-live": "polite" }, h("span", { class: "aw-spinner", "aria-hidden": "true" }), line, retry);
  const bar = h("div", { class: "aw-bar" });
  const text = h("span", { class: "aw-progress-text" });
  const counts = h("span", { class: "aw-counts" });
  const iteration = h("span", { class: "aw-iteration" });
  const progress = h("div", { class: "aw-progress" }, h("div", { class: "aw-bar-track" }, bar), text, counts, iteration);
  const el = h("div", { class: "aw-status-view" }, status, progress);

  function update() {
    const phase = model.get("phase");
    el.dataset.phase = phase;
    line.textContent = model.get("status");
    retry.hidden = phase !== "error";
    const p = model.get("progress") ?? {};
    const minority = model.get("minority") ?? [];
    text.textContent = progressText(p);
    bar.style.width = `${(progressFraction(p) * 100).toFixed(1)}%`;
    replace(
      counts,
      ...(model.get("classes") ?? []).map((c) =>
        h("span", { class: minority.includes(c) ? "aw-count aw-minority" : "aw-count", dataset: { class: c } }, `${c} ${count(p.counts?.[c] ?? 0)}`),
      ),
      p.skipped ? h("span", { class: "aw-count aw-skipped" }, `skipped ${count(p.skipped)}`) : null,
    );
    iteration.textContent = p.iteration === undefined ? "" : `iteration ${p.iteration}`;
  }
  const stop = listen(model, ["phase", "status", "progress", "classes", "minority"], update);
  update();
  return { el, destroy: stop };
}
