// @vitest-environment jsdom
// The status view while the pool is prepared: the start-up's progress bar and text, the cards'
// placeholder, and what is left once labelling can start.
import { afterEach, describe, expect, it } from "vitest";
import { startupFraction, startupShown, statusView, storeText } from "../src/views/status.js";
import widget from "../src/widget.js";
import { FakeModel, initialState } from "./fake-model.js";

const { render } = widget;

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const encoding = {
  stage: "encoding",
  text: "encoding 12,288 / 58,000 texts · 2,950 texts/s · 16 s left",
  done: 12288,
  total: 58000,
  rate: 2950,
  left: 15.5,
  seconds: {},
};

function preparing(startup = encoding) {
  return new FakeModel(
    initialState({
      batch: [],
      iteration: -1,
      phase: "preparing",
      status: "preparing the pool…",
      progress: { labelled: 0, skipped: 0, budget: 200, pool: 58000, counts: { other: 0, eye: 0 }, missing: ["other", "eye"], iteration: 0 },
      startup,
    }),
  );
}

function mountStatus(model) {
  const view = statusView({ model });
  document.body.append(view.el);
  cleanups.push(() => {
    view.destroy();
    view.el.remove();
  });
  return view.el;
}

describe("start-up helpers", () => {
  it("shows a stage until the pool is ready, and hides it after ready or an error", () => {
    expect(startupShown(encoding)).toBe(true);
    expect(startupShown({ ...encoding, stage: "index", text: "indexing (exact search meanwhile) 10 / 100" })).toBe(true);
    expect(startupShown({ ...encoding, stage: "ready", text: "" })).toBe(false);
    expect(startupShown({ ...encoding, stage: "error" })).toBe(false);
    expect(startupShown(undefined)).toBe(false);
  });

  it("gives the fraction done, or null when the size is unknown", () => {
    expect(startupFraction(encoding)).toBeCloseTo(12288 / 58000, 6);
    expect(startupFraction({ ...encoding, done: null, total: null })).toBe(null);
    expect(startupFraction({ ...encoding, done: 0, total: 0 })).toBe(null);
    expect(startupFraction({ ...encoding, done: 70000 })).toBe(1);
  });
});

describe("status view while the pool is prepared", () => {
  it("shows done / total, texts per second and time left under the status line", () => {
    const model = preparing();
    const el = mountStatus(model);
    const startup = el.querySelector(".aw-startup");
    expect(startup.hidden).toBe(false);
    expect(startup.dataset.stage).toBe("encoding");
    expect(el.querySelector(".aw-status-text").textContent).toBe("preparing the pool…");
    expect(el.querySelector(".aw-startup-text").textContent).toBe(encoding.text);
    expect(el.querySelector(".aw-startup-bar").style.width).toBe("21.2%");
    expect(el.querySelector('[role="progressbar"]').getAttribute("aria-valuenow")).toBe("21");
    expect(el.dataset.phase).toBe("preparing");
  });

  it("follows each report, and a stage of unknown size sweeps instead of filling", () => {
    const model = preparing();
    const el = mountStatus(model);
    model.set("startup", { ...encoding, done: 58000, text: "58,000 texts encoded" });
    expect(el.querySelector(".aw-startup-bar").style.width).toBe("100%");
    model.set("startup", { stage: "pool", text: "hashing the pool…", done: null, total: null, rate: null, left: null, seconds: { encoding: 19.6 } });
    const startup = el.querySelector(".aw-startup");
    expect(startup.classList.contains("aw-indeterminate")).toBe(true);
    expect(el.querySelector(".aw-startup-text").textContent).toBe("hashing the pool…");
    expect(el.querySelector('[role="progressbar"]').hasAttribute("aria-valuenow")).toBe(false);
  });

  it("hides the bar once the pool is ready, and shows the background index build after", () => {
    const model = preparing();
    const el = mountStatus(model);
    model.set("startup", { stage: "ready", text: "", done: null, total: null, rate: null, left: null, seconds: { encoding: 19.6 } });
    model.set("phase", "cold");
    expect(el.querySelector(".aw-startup").hidden).toBe(true);
    const index = { stage: "index", text: "indexing (exact search meanwhile) 200,000 / 1,000,000 · 3,000/s · 4 min 26 s left", done: 200000, total: 1000000, rate: 3000, left: 266, seconds: {} };
    model.set("startup", index);
    expect(el.querySelector(".aw-startup").hidden).toBe(false);
    expect(el.querySelector(".aw-startup-text").textContent).toBe(index.text);
    expect(el.querySelector(".aw-startup-bar").style.width).toBe("20%");
  });

  it("offers Retry when the start-up failed, and the bar goes away", () => {
    const model = preparing();
    const el = mountStatus(model);
    model.set("startup", { ...encoding, stage: "error" });
    model.set("phase", "error");
    expect(el.querySelector(".aw-startup").hidden).toBe(true);
    const retry = el.querySelector(".aw-retry");
    expect(retry.hidden).toBe(false);
    retry.click();
    expect(model.sent).toEqual([{ kind: "retry" }]);
  });

  it("says in place of the cards that labelling waits for the pool", () => {
    const host = document.createElement("div");
    document.body.append(host);
    const cleanup = render({ model: preparing(), el: host });
    cleanups.push(() => {
      cleanup();
      host.remove();
    });
    expect(host.querySelector(".aw-root").dataset.phase).toBe("preparing");
    expect(host.querySelector(".aw-empty").textContent).toContain("preparing the pool");
    expect(host.querySelectorAll(".aw-card").length).toBe(0);
  });
});

describe("where the labels are kept", () => {
  it("says the store's path, or that labels stay in memory", () => {
    expect(storeText("anchoral-labels/eye-58000-texts-ff558dba.db")).toBe("labels kept in anchoral-labels/eye-58000-texts-ff558dba.db");
    expect(storeText(null)).toBe("labels kept in memory only (store=None)");
    expect(storeText(undefined)).toBe("");
  });

  it("shows it on the progress line", () => {
    const model = preparing();
    model.set("progress", { ...model.get("progress"), store: "anchoral-labels/eye-58000-texts-ff558dba.db" });
    const el = mountStatus(model);
    expect(el.querySelector(".aw-store").textContent).toBe("labels kept in anchoral-labels/eye-58000-texts-ff558dba.db");
  });
});
