// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import { curvesView } from "../src/views/curves.js";
import { mapView } from "../src/views/map.js";
import { FakeModel, initialState } from "./fake-model.js";
import { firstMap, payload } from "./map-payload.js";

/** A stand-in for plotly: records calls, keeps `data` on the div as plotly does. */
function fakePlotly() {
  const calls = [];
  const Plotly = {
    calls,
    react(div, data, layout) {
      calls.push(["react", data, layout]);
      div.data = data;
      div.on = (event, fn) => (div.handlers = { ...(div.handlers ?? {}), [event]: fn });
      return Promise.resolve(div);
    },
    restyle(div, update, indices) {
      calls.push(["restyle", update, indices]);
      for (const [k, v] of Object.entries(update)) div.data[indices[0]][k] = v[0];
    },
    purge() {
      calls.push(["purge"]);
    },
  };
  return { Plotly, load: () => Promise.resolve(Plotly) };
}

const ready = { status: "ready", fraction: 1, text: "" };
const emit = (model, header, buffers) => {
  for (const fn of model.handlers.get("msg:custom") ?? []) fn(header, buffers);
};
const flush = () => new Promise((r) => setTimeout(r, 0));
let cleanups = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});
function mount(model, plotly) {
  const view = mapView({ model, plotly: plotly.load });
  document.body.append(view.el);
  cleanups.push(() => { view.destroy(); view.el.remove(); });
  return view;
}

describe("map view", () => {
  it("shows the fit's progress, then asks for nothing until the map is ready", () => {
    const model = new FakeModel(initialState({ map_status: { status: "fitting", fraction: 0.4, text: "map: fitting UMAP… 40%" } }));
    const view = mount(model, fakePlotly());
    expect(view.el.querySelector(".aw-map-status").textContent).toBe("map: fitting UMAP… 40%");
    expect(model.sent).toEqual([]);
    model.set("map_status", ready);
    expect(view.el.querySelector(".aw-map-status").hidden).toBe(true);
  });

  it("is hidden when the labeller has no map", () => {
    const model = new FakeModel(initialState({ map_status: { status: "off", fraction: 0, text: "" } }));
    expect(mount(model, fakePlotly()).el.hidden).toBe(true);
  });

  it("a view opening once the map is ready asks for the whole map, and draws what comes", async () => {
    const model = new FakeModel(initialState({ map_status: ready }));
    const plotly = fakePlotly();
    const view = mount(model, plotly);
    expect(model.sent).toEqual([{ kind: "map_sync" }]);
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    const plot = view.el.querySelector(".aw-map-plot");
    expect(plot.data.find((t) => t.uid === "batch").customdata).toEqual([2, 3]);
    const delta = payload({ full: false, iteration: 1, layers: { batch: { ids: [4], xy: [4, 0], anchor: [-1] } } });
    emit(model, delta.header, delta.buffers);
    await flush();
    expect(plot.data.find((t) => t.uid === "batch").customdata).toEqual([4]);
    expect(plot.data.find((t) => t.uid === "subpool").customdata).toEqual([2, 3]);
    expect(view.el.dataset.iteration).toBe("1");
  });

  it("hovering a card rings its point and the anchor that retrieved it", async () => {
    const model = new FakeModel(initialState({ map_status: ready }));
    const plotly = fakePlotly();
    const view = mount(model, plotly);
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    view.highlight({ id: 2, anchor: null });
    const plot = view.el.querySelector(".aw-map-plot");
    const ring = plot.data.find((t) => t.uid === "highlight");
    expect(ring.customdata).toEqual([2, 5]);
    expect(ring.x).toEqual([2, 5]);
    view.highlight(null);
    expect(plot.data.find((t) => t.uid === "highlight").customdata).toEqual([]);
  });

  it("clicking a point shows its text as text, and its class buttons label it", async () => {
    const model = new FakeModel(initialState({ map_status: ready, batch: [{ id: 2, text: "x", predicted: "eye", confidence: 0.5, proba: [0.5, 0.5], score: 0.9, anchor: null }] }));
    const view = mount(model, fakePlotly());
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    const plot = view.el.querySelector(".aw-map-plot");
    model.sent = [];
    plot.handlers.plotly_click({ points: [{ customdata: 4 }] }); // a pool point, not labelled
    expect(model.sent).toEqual([{ kind: "map_text", ids: [4] }]);
    emit(model, { kind: "map_text", texts: { 4: '<img src=x onerror="window.__xss=1">Otitis' } }, []);
    const picked = view.el.querySelector(".aw-map-picked");
    expect(picked.hidden).toBe(false);
    expect(picked.querySelector(".aw-text").textContent).toBe('<img src=x onerror="window.__xss=1">Otitis');
    expect(picked.querySelector("img")).toBeNull();
    picked.querySelector('button[data-label="eye"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "seed", ids: [4], label: "eye" });

    plot.handlers.plotly_click({ points: [{ customdata: 2 }] }); // in the batch: a draft answer
    view.el.querySelector('.aw-map-picked button[data-label="other"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [2], label: "other" });

    plot.handlers.plotly_click({ points: [{ customdata: 5 }] }); // labelled: nothing to do
    expect(view.el.querySelector(".aw-map-picked .aw-map-note").textContent).toBe("labelled eye");
    expect(view.el.querySelectorAll(".aw-map-picked button.aw-class").length).toBe(0);
  });

  it("stops listening when destroyed", () => {
    const model = new FakeModel(initialState({ map_status: ready }));
    const before = model.listenerCount();
    const view = mapView({ model, plotly: fakePlotly().load });
    view.destroy();
    expect(model.listenerCount()).toBe(before);
  });
});

describe("curves view", () => {
  it("draws the curves trait and redraws when it changes", async () => {
    const model = new FakeModel(initialState());
    const plotly = fakePlotly();
    const view = curvesView({ model, plotly: plotly.load });
    cleanups.push(view.destroy);
    expect(view.el.hidden).toBe(true);
    const curves = (n) => ({
      traces: [{ uid: "minority:labelled", panel: 0, x: [...Array(n).keys()], y: Array(n).fill(0.5) }],
      titles: ["a", "F1 (estimate: cross-validated on the labelled set)", "c", "d"], estimate: true, test: false,
    });
    model.set("curves", curves(1));
    await flush();
    expect(view.el.hidden).toBe(false);
    expect(view.el.dataset.estimate).toBe("true");
    model.set("curves", curves(2));
    await flush();
    const reacts = plotly.Plotly.calls.filter((c) => c[0] === "react");
    expect(reacts.at(-1)[1][0].x).toEqual([0, 1]);
    expect(reacts.at(-1)[2].annotations[1].text).toContain("estimate");
  });
});
