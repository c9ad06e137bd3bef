// The 2-D map of the pool (plotly): a status line while UMAP fits, then the map's layers, drawn
// as the kernel declares them (views/plots.py: the pool sample, the subpool by score, the
// labelled items, the anchors and the batch, in that order, every style chosen there).
// The kernel sends `map_update` messages with binary buffers; this view keeps the decoded state,
// asks for the whole map when it opens late (`map_sync`), rings a card's point and its anchor
// on hover (`highlight`), and shows a clicked point's text with buttons to label it.
import { h, replace } from "../dom.js";
import { anchorOf, applyMapUpdate, emptyMap, highlightTrace, mapTraces } from "../mapdata.js";
import { listen, msg } from "../model.js";

/** plotly, loaded on first use: bundled, but only evaluated once there is something to draw */
export const loadPlotly = () => import("plotly.js-dist-min").then((m) => m.default ?? m);

/** @param {{model: import("../model.js").AnyModel, plotly?: () => Promise<any>}} ctx */
export function mapView({ model, plotly = loadPlotly }) {
  let state = emptyMap();
  /** @type {any} */
  let Plotly = null;
  let drawn = false;
  let alive = true;
  /** @type {number | null} */
  let picked = null;
  /** @type {Map<number, string>} whole texts of clicked points */
  const fullTexts = new Map();

  const status = h("div", { class: "aw-map-status", role: "status" });
  const plot = h("div", { class: "aw-map-plot" });
  const pickedEl = h("div", { class: "aw-map-picked", hidden: true });
  const el = h("div", { class: "aw-map-view" }, status, plot, pickedEl);

  function updateStatus() {
    const s = model.get("map_status") ?? { status: "off", text: "" };
    el.hidden = s.status === "off";
    el.dataset.status = s.status;
    status.textContent = s.text;
    status.hidden = !s.text;
  }

  async function draw() {
    if (!alive || state.iteration < 0) return;
    if (!Plotly) Plotly = await plotly();
    if (!alive) return;
    await Plotly.react(plot, mapTraces(state), state.layout, { displaylogo: false, responsive: true });
    if (!drawn) {
      drawn = true;
      plot.on?.("plotly_click", (/** @type {any} */ event) => {
        const id = event?.points?.[0]?.customdata;
        if (typeof id === "number") pick(id);
      });
    }
    el.dataset.iteration = String(state.iteration);
    if (picked !== null) showPicked();
  }

  /** @param {any} content @param {any[]} [buffers] */
  function onMessage(content, buffers = []) {
    if (content?.kind === "map_update") {
      state = applyMapUpdate(state, content, buffers);
      draw();
    } else if (content?.kind === "map_text") {
      for (const [id, text] of Object.entries(content.texts ?? {})) fullTexts.set(Number(id), text);
      if (picked !== null) showPicked();
    }
  }

  /** @param {number} id */
  function pick(id) {
    picked = id;
    if (!fullTexts.has(id)) model.send(msg.mapText([id]));
    showPicked();
  }

  /** Where a point stands: in the batch, labelled (which class), or neither. */
  function standing(/** @type {number} */ id) {
    if (model.get("batch").some((c) => c.id === id)) return { where: "batch" };
    const labelled = state.layers.labelled;
    const i = labelled.ids.indexOf(id);
    if (i >= 0) return { where: "labelled", label: state.classes[labelled.values?.[i] ?? -1] };
    return { where: "open" };
  }

  function showPicked() {
    if (picked === null) return;
    const id = picked;
    const spot = standing(id);
    const answers = model.get("answers") ?? {};
    const text = fullTexts.get(id) ?? state.texts.get(id) ?? "…";
    const note =
      spot.where === "batch"
        ? `in the batch${String(id) in answers ? `: answered ${answers[String(id)] ?? "skip"}` : ""}`
        : spot.where === "labelled"
          ? `labelled ${spot.label}`
          : "not labelled: label it here";
    const buttons =
      spot.where === "labelled"
        ? []
        : (model.get("classes") ?? []).map((c) =>
            h("button", {
              type: "button", class: "aw-class", dataset: { label: c },
              onclick: () => model.send(spot.where === "batch" ? msg.label(model.get("iteration"), [id], c) : msg.seed([id], c)),
            }, c),
          );
    const close = h("button", { type: "button", class: "aw-map-close", title: "close", onclick: () => { picked = null; pickedEl.hidden = true; } }, "×");
    replace(
      pickedEl,
      h("div", { class: "aw-map-picked-head" }, h("span", { class: "aw-id" }, `#${id}`), h("span", { class: "aw-map-note" }, note), close),
      h("p", { class: "aw-text" }, text), // text, never HTML
      buttons.length ? h("div", { class: "aw-buttons" }, ...buttons) : null,
    );
    pickedEl.dataset.id = String(id);
    pickedEl.hidden = false;
  }

  /**
   * Ring a batch item and the anchor that retrieved it (null: clear).
   * @param {import("../model.js").Card | null} card
   */
  function highlight(card) {
    if (!drawn || !Plotly) return;
    const ids = card ? [card.id, anchorOf(state, card.id) ?? card.anchor?.id].filter((x) => typeof x === "number") : [];
    const trace = highlightTrace(state, ids);
    const index = (plot.data ?? []).findIndex((/** @type {any} */ t) => t.uid === trace?.uid);
    if (trace && index >= 0) Plotly.restyle(plot, { x: [trace.x], y: [trace.y], customdata: [trace.customdata] }, [index]);
  }

  model.on("msg:custom", onMessage);
  const stops = [listen(model, ["map_status"], updateStatus), listen(model, ["batch", "answers"], showPicked)];
  updateStatus();
  // a view that opens while UMAP fits gets the first (full) map by itself; a later one asks
  if (model.get("map_status")?.status === "ready") model.send(msg.mapSync());
  return {
    el,
    highlight,
    destroy() {
      alive = false;
      model.off("msg:custom", onMessage);
      stops.forEach((stop) => stop());
      if (Plotly && drawn) Plotly.purge(plot);
    },
  };
}
