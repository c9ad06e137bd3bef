// The 2-D map of the pool: a status line while UMAP fits, then every pool item drawn by WebGL
// (mappool.js) and, above it on a 2-D canvas, the layers the kernel declares (views/styles.py:
// subpool by score, labelled items, batch rings, anchor stars) in their declared order and
// style (mapoverlay.js), with a legend that toggles each and switches to the lasso
// (maplegend.js). The kernel sends `map_update` messages with binary buffers; this view keeps
// the decoded state, asks for the whole map when it opens late (`map_sync`), labels the point
// under the pointer (maptooltip.js), rings a card's point and its anchor (`highlight`), shows a
// clicked point's text with buttons to label it (mappicked.js; texts asked with `map_text`,
// maptexts.js), and passes a lasso's pool ids to `onSelect` (maplasso.js). Past `drawLimit`
// pool points it draws a seeded sample, or every point in view once they fit, decided after the
// camera stops (mapdetail.js); a lasso then selects from the whole pool.
import { append, h } from "../dom.js";
import { anchorOf, applyMapUpdate, emptyMap } from "../mapdata.js";
import { focusArea } from "../mapextent.js";
import { mapLasso } from "../maplasso.js";
import { DRAW_LIMIT } from "../maplod.js";
import { mapTexts } from "../maptexts.js";
import { listen, msg } from "../model.js";
import { receive } from "../protocol.js";
import { mapDetail } from "./mapdetail.js";
import { mapLegend } from "./maplegend.js";
import { mapOverlay } from "./mapoverlay.js";
import { mapPicked } from "./mappicked.js";
import { loadScatterplot, mapPool } from "./mappool.js";
import { mapTooltip } from "./maptooltip.js";

/**
 * @param {{
 *   model: import("../model.js").AnyModel,
 *   onSelect?: (ids: number[]) => void,
 *   renderer?: () => Promise<(options: Record<string, any>) => any>,
 *   drawLimit?: number,
 * }} ctx
 */
export function mapView({ model, onSelect = () => {}, renderer = loadScatterplot, drawLimit = DRAW_LIMIT }) {
  let state = emptyMap();
  const current = () => state;
  let alive = true;
  let focused = false; // opened once on the labels and the batch; the camera is the person's after
  const texts = mapTexts((message) => model.send(message));

  const status = h("div", { class: "aw-map-status", role: "status" });
  const glCanvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "aw-map-gl" }));
  const plot = h("div", { class: "aw-map-plot", hidden: true });
  // the parts call each other through these handlers, once all are made
  const pool = mapPool({
    plot, canvas: glCanvas, renderer, state: current,
    on: {
      view() {
        overlay.draw();
        detail.schedule();
      },
      pointOver: (id, i) => tooltip.poolPoint(id, i),
      pointOut: () => tooltip.pointOut(),
      lassoStart: () => lasso.start(),
      lassoEnd: (polygon) => lasso.end(polygon),
      select: (points) => lasso.select(points),
      deselect: () => lasso.deselect(),
    },
  });
  const legend = mapLegend({
    traces: () => state.traces, poolCanvas: glCanvas,
    onToggle: () => overlay.draw(),
    onLasso: (on) => pool.plotter?.set({ mouseMode: on ? "lasso" : "panZoom" }),
  });
  const overlay = mapOverlay({ pool, state: current, hidden: legend.hidden });
  const tooltip = mapTooltip({ plot, pool, overlay, state: current, texts });
  const picked = mapPicked({ model, state: current, texts });
  const lasso = mapLasso({
    pool, sampled: () => detail.sampled, clicked: () => tooltip.hovered, pick: picked.pick,
    onChange(ids) {
      el.dataset.selected = String(ids.length);
      onSelect([...ids]);
    },
  });
  const detail = mapDetail({ pool, plot, drawLimit, selected: () => lasso.points });
  append(plot, [glCanvas, overlay.canvas, tooltip.el, detail.note]);
  const el = h("div", { class: "aw-map-view" }, status, legend.el, plot, picked.el);

  function updateStatus() {
    const s = model.get("map_status") ?? { status: "off", text: "" };
    el.hidden = s.status === "off";
    el.dataset.status = s.status;
    status.textContent = s.text;
    status.hidden = !s.text;
  }

  async function draw() {
    if (!alive || state.iteration < 0) return;
    plot.hidden = false;
    const sp = await pool.scatterplot();
    if (!alive) return;
    if (state.layers.pool !== pool.drawn) {
      const layer = state.layers.pool;
      detail.reset(layer.ids.length);
      if (!(await pool.drawPool(layer))) return;
      lasso.reset();
      await detail.update();
      plot.dataset.points = String(sp.get("points").length);
      legend.draw();
    }
    if (!focused) {
      const area = focusArea([state.layers.labelled.xy, state.layers.batch.xy], pool.frame);
      if (area) {
        focused = true;
        sp.zoomToArea(area, { transition: false });
      }
    }
    overlay.draw();
    el.dataset.iteration = String(state.iteration);
    picked.show();
  }

  /** @type {Record<string, import("../protocol.js").Handler>} the kernel's messages, checked on arrival */
  const handlers = {
    map_update(content, buffers) {
      state = applyMapUpdate(state, content, buffers);
      draw();
    },
    map_text(content) {
      texts.take(content.texts);
      tooltip.refresh();
      picked.show();
    },
  };

  // the notebook would take a (shift-)drag on the map for selecting cells, and swallow the
  // lasso's mouse moves: a press on the map is the map's alone
  const keepPress = (/** @type {MouseEvent} */ event) => event.stopPropagation();
  plot.addEventListener("mousedown", keepPress);
  const onResize = () => {
    if (pool.resize()) overlay.draw();
  };
  const resizing = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;
  resizing?.observe(plot);

  const stops = [receive(model, handlers), listen(model, ["map_status"], updateStatus)];
  updateStatus();
  // a view that opens while UMAP fits gets the first (full) map by itself; a later one asks
  if (model.get("map_status")?.status === "ready") model.send(msg.mapSync());
  return {
    el,
    /**
     * Ring a batch item and the anchor that retrieved it (null: clear).
     * @param {import("../model.js").Card | null} card
     */
    highlight(card) {
      overlay.highlight(card ? [card.id, anchorOf(state, card.id) ?? card.anchor?.id].filter((x) => typeof x === "number") : []);
    },
    /** Drop the lasso's selection (the side panel has labelled or skipped it). */
    clearSelection: () => lasso.clear(),
    destroy() {
      alive = false;
      tooltip.destroy();
      detail.destroy();
      resizing?.disconnect();
      plot.removeEventListener("mousedown", keepPress);
      stops.forEach((stop) => stop());
      picked.destroy();
      pool.destroy();
    },
  };
}
