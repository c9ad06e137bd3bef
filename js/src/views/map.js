// The 2-D map of the pool: a status line while UMAP fits, then every pool item drawn by WebGL
// (regl-scatterplot, shaded by density when zoomed out) and, above it on a 2-D canvas, the
// layers the kernel declares (views/plots.py: subpool by score, labelled items, batch rings,
// anchor stars), in their declared order and style, with a legend that toggles each.
// The kernel sends `map_update` messages with binary buffers; this view keeps the decoded state,
// asks for the whole map when it opens late (`map_sync`), asks for a point's text on hover
// (debounced) or click (`map_text`), rings a card's point and its anchor (`highlight`), shows a
// clicked point's text with buttons to label it, and passes a lasso's pool ids to `onSelect`.
// Past `drawLimit` pool points it draws a seeded sample, or every point in view once they fit
// (maplod.js), decided after the camera stops; a lasso then selects from the whole pool.
import { h, replace } from "../dom.js";
import { anchorOf, applyMapUpdate, emptyMap, positionOf } from "../mapdata.js";
import { DRAW_LIMIT, detailPlan, indicesInView, pointsInPolygon, sameIndices, sampleNote, seededSample, viewBounds } from "../maplod.js";
import { standing, standingNote } from "../mapstanding.js";
import { mapTexts } from "../maptexts.js";
import { frameOf, hoverHead, idsOfPoints, legendEntries, normalise, overlayHit, overlayLayers, poolStyle, screenTransform } from "../mapscene.js";
import { drawMarker, glyphOf } from "../markers.js";
import { listen, msg } from "../model.js";
import { receive } from "../protocol.js";

/** regl-scatterplot, loaded on first use: bundled, but only evaluated once there is a map */
export const loadScatterplot = () => import("regl-scatterplot").then((m) => m.default ?? m);

const HOVER_DELAY_MS = 150;
const CLOSING_CLICK_MS = 400;
/** the level of detail is chosen this long after the camera's last move */
const DETAIL_DELAY_MS = 100;
/** points this far beyond the view (a share of its size, each side) are drawn too */
const DETAIL_MARGIN = 0.25;

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
  /** @type {any} the scatterplot, once made */
  let plotter = null;
  /** @type {Promise<any> | null} */
  let making = null;
  let alive = true;
  /** @type {import("../mapdata.js").Layer | null} the pool layer the scatterplot holds */
  let drawnPool = null;
  let frame = { cx: 0, cy: 0, scale: 1 };
  /** @type {{x: Float32Array, y: Float32Array}} the pool's normalised coordinates */
  let poolXY = { x: new Float32Array(0), y: new Float32Array(0) };
  /** @type {Int32Array | null} the seeded sample drawn when zoomed out (null: the pool fits) */
  let sample = null;
  /** @type {Int32Array | null} the scatterplot indices drawn now (null: all) */
  let drawnIndices = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let detailTimer;
  /** @type {ArrayLike<number>} the camera's view matrix */
  let view = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  /** @type {import("../mapscene.js").OverlayLayer[]} */
  let overlay = [];
  /** @type {Set<string>} uids of the layers the legend has turned off */
  const hidden = new Set();
  /** @type {number[]} */
  let highlighted = [];
  /** @type {number[]} pool ids of the lasso's selection */
  let selected = [];
  let lassoing = false;
  /** @type {number[]} the scatterplot's indices of the last lasso, and when it ended */
  let lassoPoints = [];
  /** @type {number[]} the scatterplot's indices of the selection (drawn or not) */
  let selectedPoints = [];
  let lassoEnded = -Infinity;
  /** @type {number | null} */
  let picked = null;
  const texts = mapTexts((message) => model.send(message));
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let hoverTimer;
  /** @type {{id: number, head: string, x: number, y: number} | null} */
  let hovering = null;

  const status = h("div", { class: "aw-map-status", role: "status" });
  const legend = h("div", { class: "aw-map-legend", role: "group", "aria-label": "map layers" });
  const glCanvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "aw-map-gl" }));
  const overlayCanvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "aw-map-overlay" }));
  const tip = h("div", { class: "aw-map-tip", hidden: true });
  const note = h("div", { class: "aw-map-lod", hidden: true });
  const plot = h("div", { class: "aw-map-plot", hidden: true }, glCanvas, overlayCanvas, tip, note);
  const pickedEl = h("div", { class: "aw-map-picked", hidden: true });
  const el = h("div", { class: "aw-map-view" }, status, legend, plot, pickedEl);

  function updateStatus() {
    const s = model.get("map_status") ?? { status: "off", text: "" };
    el.hidden = s.status === "off";
    el.dataset.status = s.status;
    status.textContent = s.text;
    status.hidden = !s.text;
  }

  function size() {
    const width = Math.max(200, Math.round(plot.getBoundingClientRect().width || 600));
    return { width, height: Number(state.layout?.height ?? 440) };
  }

  async function scatterplot() {
    if (plotter) return plotter;
    making ??= renderer().then((create) => {
      const { width, height } = size();
      plot.style.height = `${height}px`;
      const sp = create({
        canvas: glCanvas, width, height, syncEvents: true, lassoClearEvent: "deselect",
        deselectOnEscape: false, ...poolStyle(state.traces),
      });
      sp.subscribe("view", (/** @type {any} */ e) => { view = e.view; drawOverlay(); scheduleDetail(); });
      sp.subscribe("pointOver", (/** @type {number} */ i) => drawnPool && hover(drawnPool.ids[i], i));
      sp.subscribe("pointOut", () => overlayHover(null));
      sp.subscribe("lassoStart", () => { lassoing = true; });
      sp.subscribe("lassoEnd", (/** @type {any} */ e) => onLassoEnd(e?.coordinates));
      sp.subscribe("select", ({ points }) => onPoints(points));
      sp.subscribe("deselect", () => setSelection([]));
      /** @type {any} for the browser tests: the renderer's own count, positions and selection */
      (glCanvas).scatterplot = sp;
      return sp;
    });
    plotter = await making;
    if (!alive) plotter.destroy();
    return plotter;
  }

  async function draw() {
    if (!alive || state.iteration < 0) return;
    plot.hidden = false;
    const sp = await scatterplot();
    if (!alive) return;
    if (state.layers.pool !== drawnPool) {
      const pool = state.layers.pool;
      frame = frameOf(pool.xy);
      sp.set(poolStyle(state.traces));
      poolXY = normalise(pool.xy, frame);
      sample = pool.ids.length > drawLimit ? seededSample(pool.ids.length, drawLimit, 0) : null;
      drawnIndices = null;
      await sp.draw(poolXY);
      if (!alive) return;
      drawnPool = pool;
      selected = [];
      selectedPoints = [];
      await updateDetail();
      plot.dataset.points = String(sp.get("points").length);
      drawLegend();
    }
    drawOverlay();
    el.dataset.iteration = String(state.iteration);
    if (picked !== null) showPicked();
  }

  function scheduleDetail() {
    if (!sample) return;
    clearTimeout(detailTimer);
    detailTimer = setTimeout(updateDetail, DETAIL_DELAY_MS);
  }

  /** Draw the sample, or every point near the view once they fit under the limit. */
  async function updateDetail() {
    if (!alive || !plotter) return;
    const total = poolXY.x.length;
    let inView = null;
    if (sample) {
      const { width, height } = size();
      const box = viewBounds(view, width, height, plotter.get("aspectRatio") ?? 1, DETAIL_MARGIN);
      inView = indicesInView(poolXY.x, poolXY.y, box, drawLimit);
    }
    const plan = detailPlan(total, inView, sample ?? new Int32Array(0), drawLimit);
    const same = plan.indices === drawnIndices || (plan.indices && drawnIndices && sameIndices(plan.indices, drawnIndices));
    if (!same) {
      drawnIndices = plan.indices;
      if (plan.indices) await plotter.filter(Array.from(plan.indices), { preventEvent: true });
      else await plotter.unfilter?.({ preventEvent: true });
      if (!alive) return;
      // filtering drops the hidden points from the scatterplot's selection: show the whole one
      if (selectedPoints.length) plotter.select([...selectedPoints], { preventEvent: true });
    }
    const shown = plan.indices ? plan.indices.length : total;
    plot.dataset.drawn = String(shown);
    note.textContent = plan.sampled ? sampleNote(shown, total) : "";
    note.hidden = !plan.sampled;
  }

  function toScreen() {
    const { width, height } = size();
    return screenTransform(view, width, height, plotter?.get("aspectRatio") ?? 1);
  }

  function drawOverlay() {
    if (!drawnPool) return;
    const { width, height } = size();
    const ratio = window.devicePixelRatio || 1;
    if (overlayCanvas.width !== width * ratio) overlayCanvas.width = width * ratio;
    if (overlayCanvas.height !== height * ratio) overlayCanvas.height = height * ratio;
    overlay = overlayLayers(state, frame, { hidden, highlight: highlighted, position: (id) => positionOf(state, id) });
    /** @type {any} for the browser tests: what is drawn, bottom first */
    (overlayCanvas).drawnLayers = overlay.map((l) => ({ uid: l.uid, ids: l.ids }));
    const ctx = overlayCanvas.getContext?.("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const at = toScreen();
    for (const layer of overlay) {
      for (let i = 0; i < layer.ids.length; i++) {
        const [x, y] = at(layer.x[i], layer.y[i]);
        if (x < -20 || y < -20 || x > width + 20 || y > height + 20) continue;
        drawMarker(ctx, layer, x, y, layer.colours[i]);
      }
    }
  }

  function drawLegend() {
    const entries = legendEntries(state.traces).map((entry) => {
      const swatch = h("span", { class: "aw-map-swatch", "aria-hidden": "true" }, glyphOf(entry.symbol));
      swatch.style.color = entry.colour;
      if (entry.scale) swatch.style.background = `linear-gradient(90deg, ${entry.scale.map(([t, c]) => `${c} ${t * 100}%`).join(", ")})`;
      return h("button", {
        type: "button", class: "aw-map-layer", dataset: { uid: entry.uid }, "aria-pressed": String(!hidden.has(entry.uid)),
        onclick: () => toggle(entry.uid),
      }, swatch, entry.name);
    });
    const lasso = h("button", {
      type: "button", class: "aw-map-lasso", title: "draw around points to select them (or shift + drag)",
      "aria-pressed": "false", onclick: () => setLasso(lasso.getAttribute("aria-pressed") !== "true"),
    }, "lasso");
    replace(legend, ...entries, lasso);
  }

  /** Turn a layer on or off (the legend's buttons). @param {string} uid */
  function toggle(uid) {
    if (hidden.has(uid)) hidden.delete(uid);
    else hidden.add(uid);
    legend.querySelector(`button[data-uid="${uid}"]`)?.setAttribute("aria-pressed", String(!hidden.has(uid)));
    // the pool's canvas turns see-through but keeps the pointer: pan, zoom and lasso still work
    if (uid === poolUid()) glCanvas.style.opacity = hidden.has(uid) ? "0" : "";
    drawOverlay();
  }

  const poolUid = () => state.traces.find((d) => d.layer === "pool")?.trace.uid;

  /** @param {boolean} on */
  function setLasso(on) {
    legend.querySelector(".aw-map-lasso")?.setAttribute("aria-pressed", String(on));
    plotter?.set({ mouseMode: on ? "lasso" : "panZoom" });
  }

  /** The scatterplot selected points: a lasso's selection, or a click on one point. */
  function onPoints(/** @type {number[]} */ points) {
    if (!drawnPool) return;
    if (lassoing) {
      // with a sample drawn, the lasso's end selects from the whole pool (onLassoEnd)
      if (sample) return;
      lassoing = false;
      lassoPoints = [...points];
      selectedPoints = lassoPoints;
      setSelection(idsOfPoints(drawnPool.ids, points));
      return;
    }
    if (performance.now() - lassoEnded < CLOSING_CLICK_MS && selected.length) {
      // a lasso closed where it began ends in what the scatterplot takes for a click: keep the lasso's
      plotter.select([...lassoPoints], { preventEvent: true });
      return;
    }
    // a click: the point's text and buttons; what is drawn on top answers first
    const id = hovering?.id ?? drawnPool.ids[points[0]];
    plotter.deselect({ preventEvent: true });
    if (selected.length) setSelection([]);
    if (typeof id === "number") pick(id);
  }

  /**
   * The lasso ended: with a sample drawn, its selection is every pool point inside the
   * polygon (in the scatterplot's normalised coordinates), drawn or not.
   * @param {ArrayLike<number>[] | undefined} polygon
   */
  function onLassoEnd(polygon) {
    lassoEnded = performance.now();
    if (!lassoing) return;
    lassoing = false;
    if (!drawnPool || !polygon) return;
    lassoPoints = Array.from(pointsInPolygon(poolXY.x, poolXY.y, polygon));
    selectedPoints = lassoPoints;
    // a copy: the scatterplot keeps the array it is given and drops the filtered-out points from it
    plotter.select([...lassoPoints], { preventEvent: true });
    setSelection(idsOfPoints(drawnPool.ids, lassoPoints));
  }

  function setSelection(/** @type {number[]} */ ids) {
    if (!ids.length) selectedPoints = [];
    if (!ids.length && !selected.length) return;
    selected = ids;
    el.dataset.selected = String(ids.length);
    onSelect([...ids]);
  }

  /** A pointer over a pool point (index `i` in the scatterplot) or an overlay point. */
  function hover(/** @type {number} */ id, /** @type {number} */ i) {
    const top = overlayHitAtPointer();
    if (top) return overlayHover(top);
    const p = plotter.getScreenPosition?.(i) ?? [0, 0];
    showTip({ id, head: `#${id}`, x: p[0], y: p[1] });
  }

  /** @type {[number, number]} */
  let pointer = [0, 0];
  function overlayHitAtPointer() {
    return overlayHit(overlay, toScreen(), pointer[0], pointer[1]);
  }

  /** @param {{uid: string, id: number} | null} hit */
  function overlayHover(hit) {
    if (!hit) {
      if (!overlayHitAtPointer()) hideTip();
      return;
    }
    const decl = state.traces.find((d) => d.trace.uid === hit.uid);
    const layer = decl ? state.layers[decl.layer] : null;
    const row = layer ? layer.ids.indexOf(hit.id) : -1;
    const value = row >= 0 && layer?.values ? Number(layer.values[row]) : null;
    showTip({ id: hit.id, head: decl ? hoverHead(decl, hit.id, value) : `#${hit.id}`, x: pointer[0], y: pointer[1] });
  }

  /** @param {{id: number, head: string, x: number, y: number}} spot */
  function showTip(spot) {
    hovering = spot;
    plot.dataset.hover = String(spot.id);
    const text = texts.textOf(spot.id, state.texts);
    replace(tip, h("div", { class: "aw-map-tip-head" }, spot.head), h("div", { class: "aw-text" }, text ?? "…"));
    tip.style.left = `${Math.round(spot.x + 12)}px`;
    tip.style.top = `${Math.round(spot.y + 12)}px`;
    tip.hidden = false;
    clearTimeout(hoverTimer);
    if (text === undefined) hoverTimer = setTimeout(() => alive && texts.askOnce(spot.id), HOVER_DELAY_MS);
  }

  function hideTip() {
    hovering = null;
    delete plot.dataset.hover;
    clearTimeout(hoverTimer);
    tip.hidden = true;
  }

  /** @param {MouseEvent} event */
  function onPointerMove(event) {
    const box = plot.getBoundingClientRect();
    pointer = [event.clientX - box.left, event.clientY - box.top];
    const hit = overlayHitAtPointer();
    if (hit) overlayHover(hit);
    else if (hovering && !plotter?.get("hoveredPoint") && hovering.head !== `#${hovering.id}`) hideTip();
  }
  plot.addEventListener("mousemove", onPointerMove);
  plot.addEventListener("mouseleave", hideTip);
  // the notebook would take a (shift-)drag on the map for selecting cells, and swallow the
  // lasso's mouse moves: a press on the map is the map's alone
  const keepPress = (/** @type {MouseEvent} */ event) => event.stopPropagation();
  plot.addEventListener("mousedown", keepPress);

  /** @type {Record<string, import("../protocol.js").Handler>} the kernel's messages, checked on arrival */
  const handlers = {
    map_update(content, buffers) {
      state = applyMapUpdate(state, content, buffers);
      draw();
    },
    map_text(content) {
      texts.take(content.texts);
      if (hovering) showTip(hovering);
      if (picked !== null) showPicked();
    },
  };

  /** @param {number} id */
  function pick(id) {
    picked = id;
    texts.ask(id);
    showPicked();
  }

  function showPicked() {
    if (picked === null) return;
    const id = picked;
    const spot = standing(state, model.get("batch"), id);
    const note = standingNote(spot, id, model.get("answers") ?? {});
    const text = texts.textOf(id, state.texts) ?? "…";
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
    highlighted = card ? [card.id, anchorOf(state, card.id) ?? card.anchor?.id].filter((x) => typeof x === "number") : [];
    drawOverlay();
  }

  function onResize() {
    if (!plotter || !drawnPool) return;
    const { width, height } = size();
    plotter.set({ width, height });
    drawOverlay();
  }
  const resizing = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;
  resizing?.observe(plot);

  const stops = [receive(model, handlers), listen(model, ["map_status"], updateStatus), listen(model, ["batch", "answers"], showPicked)];
  updateStatus();
  // a view that opens while UMAP fits gets the first (full) map by itself; a later one asks
  if (model.get("map_status")?.status === "ready") model.send(msg.mapSync());
  return {
    el,
    highlight,
    /** Drop the lasso's selection (the side panel has labelled or skipped it). */
    clearSelection() {
      plotter?.deselect({ preventEvent: true });
      setSelection([]);
    },
    destroy() {
      alive = false;
      clearTimeout(hoverTimer);
      clearTimeout(detailTimer);
      resizing?.disconnect();
      plot.removeEventListener("mousemove", onPointerMove);
      plot.removeEventListener("mouseleave", hideTip);
      plot.removeEventListener("mousedown", keepPress);
      stops.forEach((stop) => stop());
      plotter?.destroy();
      plotter = null;
    },
  };
}
