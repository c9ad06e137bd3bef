// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { curvesView } from "../src/views/curves.js";
import { applyMapUpdate, emptyMap } from "../src/mapdata.js";
import { mapView } from "../src/views/map.js";
import { FakeModel, initialState } from "./fake-model.js";
import { firstMap, payload } from "./map-payload.js";

/** A stand-in for plotly (the curves): records calls, keeps `data` on the div as plotly does. */
function fakePlotly() {
  const calls = [];
  const Plotly = {
    calls,
    react(div, data, layout) {
      calls.push(["react", data, layout]);
      div.data = data;
      return Promise.resolve(div);
    },
    purge() {
      calls.push(["purge"]);
    },
  };
  return { Plotly, load: () => Promise.resolve(Plotly) };
}

/** A stand-in for regl-scatterplot: keeps the points and settings, lets a test fire its events. */
function fakeScatterplot() {
  const made = [];
  const create = (options) => {
    const handlers = new Map();
    const sp = {
      options, settings: { ...options }, points: null, destroyed: false, deselected: 0,
      draw(points) { sp.points = points; return Promise.resolve(); },
      set(props) { Object.assign(sp.settings, props); },
      get(name) {
        if (name === "points") return Array.from({ length: sp.points?.x.length ?? 0 });
        if (name === "aspectRatio") return 1;
        return sp.settings[name];
      },
      subscribe(event, fn) { handlers.set(event.toLowerCase(), fn); },
      fire(event, payload) { handlers.get(event.toLowerCase())?.(payload); },
      deselect() { sp.deselected++; },
      select(points) {
        sp.reselected = points;
        if (sp.filtered) points.splice(0, points.length, ...points.filter((i) => sp.filtered.includes(i))); // as the scatterplot does
      },
      filter(indices) { sp.filtered = [...indices]; return Promise.resolve(); },
      unfilter() { sp.filtered = null; return Promise.resolve(); },
      getScreenPosition: () => [10, 10],
      zoomToArea(area, options) { (sp.zoomed ??= []).push({ area, options }); },
      destroy() { sp.destroyed = true; },
    };
    made.push(sp);
    return sp;
  };
  return { made, load: () => Promise.resolve(create) };
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
  vi.restoreAllMocks();
});
HTMLCanvasElement.prototype.getContext = () => null; // jsdom draws nothing
function mount(model, renderer = fakeScatterplot(), onSelect = () => {}, drawLimit = undefined) {
  const view = mapView({ model, renderer: renderer.load, onSelect, drawLimit });
  document.body.append(view.el);
  cleanups.push(() => { view.destroy(); view.el.remove(); });
  return view;
}

// A ready map view that has drawn the first map message.
async function mountedWithMap({ onSelect, drawLimit } = {}) {
  const model = new FakeModel(initialState({ map_status: ready }));
  const renderer = fakeScatterplot();
  const view = mount(model, renderer, onSelect, drawLimit);
  const { header, buffers } = firstMap();
  emit(model, header, buffers);
  await flush();
  return { model, renderer, view };
}

describe("map view", () => {
  it("opens once on the labelled and batch items with the pool around them, then leaves the camera alone", async () => {
    const { model, renderer } = await mountedWithMap();
    const sp = renderer.made[0];
    expect(sp.zoomed).toHaveLength(1);
    const { area, options } = sp.zoomed[0];
    expect(options).toEqual({ transition: false });
    expect(area.width).toBeGreaterThan(0);
    expect(area.width).toBeLessThanOrEqual(2);
    const { header, buffers } = firstMap();
    emit(model, header, buffers); // the next batch: the person's camera stays where it is
    await flush();
    expect(sp.zoomed).toHaveLength(1);
  });

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

  it("a view opening once the map is ready asks for the whole map, and draws every pool point", async () => {
    const model = new FakeModel(initialState({ map_status: ready }));
    const renderer = fakeScatterplot();
    const view = mount(model, renderer);
    expect(model.sent).toEqual([{ kind: "map_sync" }]);
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    const sp = renderer.made[0];
    expect(sp.points.x.length).toBe(6); // the whole pool, to WebGL
    expect(view.el.querySelector(".aw-map-plot").dataset.points).toBe("6");
    expect(sp.settings.opacityBy).toBe("density");
    const drawn = () => Object.fromEntries(view.el.querySelector(".aw-map-overlay").drawnLayers.map((l) => [l.uid, l.ids]));
    expect(drawn().batch).toEqual([2, 3]);
    expect(Object.keys(drawn())).toEqual(["subpool", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1"]);
    const delta = payload({ full: false, iteration: 1, layers: { batch: { ids: [4], xy: [4, 0], anchor: [-1] } } });
    emit(model, delta.header, delta.buffers);
    await flush();
    expect(drawn().batch).toEqual([4]);
    expect(drawn().subpool).toEqual([2, 3]);
    expect(sp.points.x.length).toBe(6);
    expect(view.el.dataset.iteration).toBe("1");
  });

  it("hovering a card rings its point and the anchor that retrieved it", async () => {
    const { view } = await mountedWithMap();
    const rings = () => view.el.querySelector(".aw-map-overlay").drawnLayers.find((l) => l.uid === "highlight")?.ids;
    view.highlight({ id: 2, anchor: null });
    expect(rings()).toEqual([2, 5]);
    view.highlight(null);
    expect(rings()).toBeUndefined();
  });

  it("the legend turns each layer off and on; the pool's canvas turns see-through", async () => {
    const { model, renderer, view } = await mountedWithMap();
    const buttons = [...view.el.querySelectorAll(".aw-map-legend button.aw-map-layer")];
    expect(buttons.map((b) => b.dataset.uid)).toEqual(["pool", "subpool", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1"]);
    const uids = () => view.el.querySelector(".aw-map-overlay").drawnLayers.map((l) => l.uid);
    view.el.querySelector('button[data-uid="anchors-1"]').click();
    expect(uids()).not.toContain("anchors-1");
    expect(view.el.querySelector('button[data-uid="anchors-1"]').getAttribute("aria-pressed")).toBe("false");
    view.el.querySelector('button[data-uid="anchors-1"]').click();
    expect(uids()).toContain("anchors-1");
    view.el.querySelector('button[data-uid="pool"]').click();
    expect(view.el.querySelector(".aw-map-gl").style.opacity).toBe("0");
    view.el.querySelector('button[data-uid="pool"]').click();
    expect(view.el.querySelector(".aw-map-gl").style.opacity).toBe("");
  });

  it("hovering a pool point asks for its text once, after a pause, and shows it as text", async () => {
    const { model, renderer, view } = await mountedWithMap();
    model.sent = [];
    renderer.made[0].fire("pointOver", 4);
    expect(model.sent).toEqual([]); // debounced
    await new Promise((r) => setTimeout(r, 200));
    expect(model.sent).toEqual([{ kind: "map_text", ids: [4] }]);
    emit(model, { kind: "map_text", texts: { 4: "<b>Otitis</b>" } }, []);
    const tip = view.el.querySelector(".aw-map-tip");
    expect(tip.hidden).toBe(false);
    expect(tip.querySelector(".aw-text").textContent).toBe("<b>Otitis</b>");
    renderer.made[0].fire("pointOver", 4);
    await new Promise((r) => setTimeout(r, 200));
    expect(model.sent.length).toBe(1); // known now
  });

  it("clicking a point shows its text as text, and its class buttons label it", async () => {
    const model = new FakeModel(initialState({ map_status: ready, batch: [{ id: 2, text: "x", predicted: "eye", confidence: 0.5, proba: [0.5, 0.5], score: 0.9, anchor: null }] }));
    const renderer = fakeScatterplot();
    const selections = [];
    const view = mount(model, renderer, (ids) => selections.push(ids));
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    const sp = renderer.made[0];
    model.sent = [];
    sp.fire("select", { points: [4] }); // a click on pool point 4, not labelled
    expect(selections).toEqual([]); // a click is not a selection
    expect(model.sent).toEqual([{ kind: "map_text", ids: [4] }]);
    emit(model, { kind: "map_text", texts: { 4: '<img src=x onerror="window.__xss=1">Otitis' } }, []);
    const picked = view.el.querySelector(".aw-map-picked");
    expect(picked.hidden).toBe(false);
    expect(picked.querySelector(".aw-text").textContent).toBe('<img src=x onerror="window.__xss=1">Otitis');
    expect(picked.querySelector("img")).toBeNull();
    picked.querySelector('button[data-label="eye"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "seed", ids: [4], label: "eye" });

    sp.fire("select", { points: [2] }); // in the batch: a draft answer
    view.el.querySelector('.aw-map-picked button[data-label="other"]').click();
    expect(model.sent.at(-1)).toEqual({ kind: "label", iteration: 4, ids: [2], label: "other" });

    sp.fire("select", { points: [5] }); // labelled: nothing to do
    expect(view.el.querySelector(".aw-map-picked .aw-map-note").textContent).toBe("labelled eye");
    expect(view.el.querySelectorAll(".aw-map-picked button.aw-class").length).toBe(0);
  });

  it("a lasso passes the pool ids it holds to onSelect; clearing passes []", async () => {
    const selections = [];
    const { model, renderer, view } = await mountedWithMap({ onSelect: (ids) => selections.push(ids) });
    const sp = renderer.made[0];
    sp.fire("lassoStart");
    sp.fire("select", { points: [5, 1, 3] });
    sp.fire("lassoEnd");
    // a lasso closed where it began: the scatterplot takes the mouse-up for a click on a point
    sp.fire("select", { points: [1] });
    expect(selections).toEqual([[1, 3, 5]]);
    expect(sp.reselected).toEqual([5, 1, 3]);
    expect(view.el.querySelector(".aw-map-picked").hidden).toBe(true);
    expect(view.el.dataset.selected).toBe("3");
    sp.fire("deselect");
    expect(selections.at(-1)).toEqual([]);
    sp.fire("lassoStart");
    sp.fire("select", { points: [0] });
    view.clearSelection();
    expect(selections.slice(-2)).toEqual([[0], []]);
    expect(sp.deselected).toBeGreaterThan(0);
    view.clearSelection(); // nothing selected: no second []
    expect(selections.length).toBe(4);
    // the lasso button switches the mouse to lassoing and back
    const lasso = view.el.querySelector(".aw-map-lasso");
    lasso.click();
    expect(sp.settings.mouseMode).toBe("lasso");
    lasso.click();
    expect(sp.settings.mouseMode).toBe("panZoom");
  });

  it("draws every point while the pool fits the limit, with no note", async () => {
    const { model, renderer, view } = await mountedWithMap();
    expect(renderer.made[0].filtered).toBeUndefined();
    expect(view.el.querySelector(".aw-map-plot").dataset.drawn).toBe(view.el.querySelector(".aw-map-plot").dataset.points);
    expect(view.el.querySelector(".aw-map-lod").hidden).toBe(true);
  });

  it("past the limit draws a fixed sample, then every point in view once the camera stops zoomed in", async () => {
    const { model, renderer, view } = await mountedWithMap({ drawLimit: 3 });
    const sp = renderer.made[0];
    const plot = view.el.querySelector(".aw-map-plot");
    const n = Number(plot.dataset.points);
    expect(n).toBeGreaterThan(3);
    expect(sp.filtered.length).toBe(3);
    const first = [...sp.filtered];
    expect(plot.dataset.drawn).toBe("3");
    const note = view.el.querySelector(".aw-map-lod");
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe(`showing 3 of ${n}: zoom in for every point`);
    // zoomed in on the first pool point: only it (and maybe a neighbour) in view
    const { x, y } = sp.points;
    const zoom = 1000;
    sp.fire("view", { view: [zoom, 0, 0, 0, 0, zoom, 0, 0, 0, 0, 1, 0, -zoom * x[0], -zoom * y[0], 0, 1] });
    expect(sp.filtered).toEqual(first); // not per frame: after the camera stops
    await new Promise((r) => setTimeout(r, 150));
    expect(sp.filtered).toContain(0);
    expect(sp.filtered.length).toBeLessThanOrEqual(3);
    expect(note.hidden).toBe(true);
    // zoomed out again: the same sample as before
    sp.fire("view", { view: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] });
    await new Promise((r) => setTimeout(r, 150));
    expect(sp.filtered).toEqual(first);
    expect(note.hidden).toBe(false);
  });

  it("past the limit, a lasso selects every pool point inside it, drawn or not", async () => {
    const selections = [];
    const { model, renderer } = await mountedWithMap({ onSelect: (ids) => selections.push(ids), drawLimit: 3 });
    const sp = renderer.made[0];
    const { x, y } = sp.points;
    sp.fire("lassoStart");
    sp.fire("select", { points: sp.filtered.slice(0, 1) }); // the scatterplot knows only the drawn points
    expect(selections).toEqual([]);
    sp.fire("lassoEnd", { coordinates: [[-2, -2], [2, -2], [2, 2], [-2, 2]] }); // around the whole pool
    const { header, buffers } = firstMap();
    const ids = applyMapUpdate(emptyMap(), header, buffers).layers.pool.ids;
    expect(selections).toEqual([[...ids].sort((a, b) => a - b)]);
    expect(sp.reselected.length).toBe(3); // the drawn ones
    // zoomed in, the view's points are drawn: the whole selection is shown again
    sp.fire("view", { view: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] });
    await new Promise((r) => setTimeout(r, 150));
    expect(selections.length).toBe(1);
    // a lasso around the first point alone
    const d = 1e-4;
    sp.fire("lassoStart");
    sp.fire("lassoEnd", { coordinates: [[x[0] - d, y[0] - d], [x[0] + d, y[0] - d], [x[0] + d, y[0] + d], [x[0] - d, y[0] + d]] });
    expect(selections.at(-1)).toEqual([ids[0]]);
  });

  it("receives through the checked path: a message not as declared, or one it cannot apply, is reported and the map stands", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { model, view } = await mountedWithMap();
    const batch = () => view.el.querySelector(".aw-map-overlay").drawnLayers.find((l) => l.uid === "batch").ids;
    const { header, buffers } = payload({ full: false, iteration: 1, layers: { batch: { ids: [4], xy: [4, 0], anchor: [-1] } } });
    const { layers, ...withoutLayers } = header;
    expect(() => {
      emit(model, withoutLayers, buffers); // a required field missing
      emit(model, header, buffers.map((b) => [...new Uint8Array(b.buffer, b.byteOffset, b.byteLength)])); // numbers, not bytes
      emit(model, { ...header, kind: "map_updates" }, buffers); // an unknown kind
      emit(model, { ...header, version: 3 }, buffers); // as declared, but a format this map cannot read
      emit(model, { kind: "map_text", texts: { 4: "Otitis" } }, buffers); // no buffers come with map_text
    }).not.toThrow();
    await flush();
    expect(view.el.dataset.iteration).toBe("0");
    expect(batch()).toEqual([2, 3]);
    const problems = errors.mock.calls.map((call) => call[0]);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toContain('map_update needs "layers"');
    expect(problems[1]).toContain("every buffer must be binary");
    expect(problems[2]).toContain('unknown kind "map_updates"');
    expect(problems[3]).toContain('a "map_update" message from the kernel could not be shown: not a map update: map_update v3');
    expect(problems[4]).toContain("map_text carries no binary buffers");
    emit(model, header, buffers); // the map still takes the next good one
    await flush();
    expect(view.el.dataset.iteration).toBe("1");
    expect(batch()).toEqual([4]);
  });

  it("stops listening and frees the renderer when destroyed, without an error", async () => {
    const model = new FakeModel(initialState({ map_status: ready }));
    const before = model.listenerCount();
    const renderer = fakeScatterplot();
    const view = mapView({ model, renderer: renderer.load });
    const { header, buffers } = firstMap();
    emit(model, header, buffers);
    await flush();
    expect(() => view.destroy()).not.toThrow();
    expect(model.listenerCount()).toBe(before);
    expect(renderer.made[0].destroyed).toBe(true);
    expect(() => mapView({ model, renderer: renderer.load }).destroy()).not.toThrow(); // before any map
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
