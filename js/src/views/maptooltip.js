// The map's hover label: `#id` and the text of the pool point under the pointer, or the declared
// wording (mapscene.hoverHead) of a point in a layer above the pool, which answers first. A text
// the map lacks is asked of the kernel once the pointer rests (maptexts.js).
import { h, replace } from "../dom.js";
import { hoverHead } from "../mapscene.js";

const HOVER_DELAY_MS = 150;

/** @typedef {{id: number, head: string, x: number, y: number}} Spot a label: its point, first line and place */

/**
 * @param {{
 *   plot: HTMLElement,
 *   pool: import("./mappool.js").MapPool,
 *   overlay: ReturnType<typeof import("./mapoverlay.js").mapOverlay>,
 *   state: () => import("../mapdata.js").MapState,
 *   texts: ReturnType<typeof import("../maptexts.js").mapTexts>,
 * }} ctx
 */
export function mapTooltip({ plot, pool, overlay, state, texts }) {
  const el = h("div", { class: "aw-map-tip", hidden: true });
  /** @type {Spot | null} */
  let hovering = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {[number, number]} the pointer, in CSS pixels from the plot's top left */
  let pointer = [0, 0];
  let alive = true;

  /** A pointer over a pool point (index `i` in the scatterplot). @param {number} id @param {number} i */
  function poolPoint(id, i) {
    const top = overlay.hitAt(pointer);
    if (top) return overlayPoint(top);
    const p = pool.plotter.getScreenPosition?.(i) ?? [0, 0];
    show({ id, head: `#${id}`, x: p[0], y: p[1] });
  }

  /** A pointer over a point of a layer above the pool. @param {{uid: string, id: number}} hit */
  function overlayPoint(hit) {
    const current = state();
    const decl = current.traces.find((d) => d.trace.uid === hit.uid);
    const layer = decl ? current.layers[decl.layer] : null;
    const row = layer ? layer.ids.indexOf(hit.id) : -1;
    const value = row >= 0 && layer?.values ? Number(layer.values[row]) : null;
    show({ id: hit.id, head: decl ? hoverHead(decl, hit.id, value) : `#${hit.id}`, x: pointer[0], y: pointer[1] });
  }

  /** @param {Spot} spot */
  function show(spot) {
    hovering = spot;
    plot.dataset.hover = String(spot.id);
    const text = texts.textOf(spot.id, state().texts);
    replace(el, h("div", { class: "aw-map-tip-head" }, spot.head), h("div", { class: "aw-text" }, text ?? "…"));
    el.style.left = `${Math.round(spot.x + 12)}px`;
    el.style.top = `${Math.round(spot.y + 12)}px`;
    el.hidden = false;
    clearTimeout(timer);
    if (text === undefined) timer = setTimeout(() => alive && texts.askOnce(spot.id), HOVER_DELAY_MS);
  }

  function hide() {
    hovering = null;
    delete plot.dataset.hover;
    clearTimeout(timer);
    el.hidden = true;
  }

  /** @param {MouseEvent} event */
  function onPointerMove(event) {
    const box = plot.getBoundingClientRect();
    pointer = [event.clientX - box.left, event.clientY - box.top];
    const hit = overlay.hitAt(pointer);
    if (hit) overlayPoint(hit);
    else if (hovering && !pool.plotter?.get("hoveredPoint") && hovering.head !== `#${hovering.id}`) hide();
  }
  plot.addEventListener("mousemove", onPointerMove);
  plot.addEventListener("mouseleave", hide);

  return {
    el,
    poolPoint,
    /** The pointer left a pool point: the label goes unless a point above the pool is under it. */
    pointOut() {
      if (!overlay.hitAt(pointer)) hide();
    },
    /** Show the label again (its text may have come). */
    refresh() {
      if (hovering) show(hovering);
    },
    /** the id of the point whose label shows */
    get hovered() {
      return hovering?.id;
    },
    destroy() {
      alive = false;
      clearTimeout(timer);
      plot.removeEventListener("mousemove", onPointerMove);
      plot.removeEventListener("mouseleave", hide);
    },
  };
}
