// The status line ("training…", "selecting…", "ready" with seconds) and progress: labelled /
// budget, per-class counts, iteration; while the pool is prepared (encoded, then indexed in the
// background), the start-up's progress bar: done / total, items per second, time left.
import { h, replace } from "../dom.js";
import { count, progressFraction, progressText } from "../logic.js";
import { listen, msg } from "../model.js";

/** Stages after which nothing of the start-up is left to show. */
const STARTED = ["ready", "error"];

/**
 * Whether the start-up still has something to show.
 * @param {import("../model.js").Startup | undefined} startup
 */
export function startupShown(startup) {
  return Boolean(startup && startup.text && !STARTED.includes(startup.stage));
}

/**
 * Fraction done of the start-up's stage, or null when its size is unknown (hashing the pool,
 * opening the store): the bar then only says that something is going on.
 * @param {import("../model.js").Startup | undefined} startup
 */
export function startupFraction(startup) {
  if (!startup || startup.done == null || !startup.total) return null;
  return Math.min(1, Math.max(0, startup.done / startup.total));
}

/** @param {{model: import("../model.js").AnyModel}} ctx */
/** Where the labels are kept, as the progress line says it. */
export function storeText(where) {
  if (where === undefined) return "";
  return where === null ? "labels kept in memory only (store=None)" : `labels kept in ${where}`;
}

export function statusView({ model }) {
  const line = h("span", { class: "aw-status-text" });
  const retry = h("button", { type: "button", class: "aw-retry", hidden: true }, "Retry");
  retry.addEventListener("click", () => model.send(msg.retry()));
  const status = h("div", { class: "aw-status", role: "status", "aria-live": "polite" }, h("span", { class: "aw-spinner", "aria-hidden": "true" }), line, retry);
  const bar = h("div", { class: "aw-bar" });
  const text = h("span", { class: "aw-progress-text" });
  const counts = h("span", { class: "aw-counts" });
  const iteration = h("span", { class: "aw-iteration" });
  const store = h("span", { class: "aw-store" });
  const progress = h("div", { class: "aw-progress" }, h("div", { class: "aw-bar-track" }, bar), text, counts, iteration, store);
  const startupBar = h("div", { class: "aw-bar aw-startup-bar" });
  const startupTrack = h("div", { class: "aw-bar-track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, startupBar);
  const startupText = h("span", { class: "aw-startup-text" });
  const startup = h("div", { class: "aw-startup", hidden: true }, startupTrack, startupText);
  const el = h("div", { class: "aw-status-view" }, status, startup, progress);

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
    store.textContent = storeText(p.store);
    updateStartup();
  }
  function updateStartup() {
    const s = model.get("startup");
    startup.hidden = !startupShown(s);
    if (startup.hidden) return;
    startup.dataset.stage = s.stage;
    startupText.textContent = s.text;
    const fraction = startupFraction(s);
    startup.classList.toggle("aw-indeterminate", fraction === null);
    startupBar.style.width = fraction === null ? "" : `${(fraction * 100).toFixed(1)}%`;
    if (fraction === null) startupTrack.removeAttribute("aria-valuenow");
    else startupTrack.setAttribute("aria-valuenow", (fraction * 100).toFixed(0));
  }
  const stop = listen(model, ["phase", "status", "progress", "classes", "minority", "startup"], update);
  update();
  return { el, destroy: stop };
}
