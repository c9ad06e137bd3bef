// The layers above the map's pool (subpool, labelled items, batch rings, anchor stars, the rings
// of a hovered card's point and anchor), drawn on a 2-D canvas over the scatterplot in their
// declared order and style (mapscene.js, markers.js), where the camera puts them; the legend's
// hidden layers are left out.
import { h } from "../dom.js";
import { positionOf } from "../mapdata.js";
import { overlayHit, overlayLayers } from "../mapscene.js";
import { drawMarker } from "../markers.js";

/**
 * @param {{
 *   pool: import("./mappool.js").MapPool,
 *   state: () => import("../mapdata.js").MapState,
 *   hidden: Set<string>,
 * }} ctx `hidden`: uids of the layers turned off
 */
export function mapOverlay({ pool, state, hidden }) {
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "aw-map-overlay" }));
  /** @type {import("../mapscene.js").OverlayLayer[]} */
  let layers = [];
  /** @type {number[]} */
  let highlighted = [];

  function draw() {
    if (!pool.drawn) return;
    const { width, height } = pool.size();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== width * ratio) canvas.width = width * ratio;
    if (canvas.height !== height * ratio) canvas.height = height * ratio;
    const current = state();
    layers = overlayLayers(current, pool.frame, { hidden, highlight: highlighted, position: (id) => positionOf(current, id) });
    const at = pool.toScreen();
    /** @type {any} for the browser tests: what is drawn, bottom first, and where on screen (worked out when read) */
    (canvas).drawnLayers = layers.map((l) => ({ uid: l.uid, ids: l.ids, get screen() { return Array.from(l.ids, (_, i) => at(l.x[i], l.y[i])); } }));
    const ctx = canvas.getContext?.("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    for (const layer of layers) {
      for (let i = 0; i < layer.ids.length; i++) {
        const [x, y] = at(layer.x[i], layer.y[i]);
        if (x < -20 || y < -20 || x > width + 20 || y > height + 20) continue;
        drawMarker(ctx, layer, x, y, layer.colours[i]);
      }
    }
  }

  return {
    canvas,
    draw,
    /** Ring these points (pool ids; [] for none). @param {number[]} ids */
    highlight(ids) {
      highlighted = ids;
      draw();
    },
    /**
     * The topmost drawn point under a screen position (CSS pixels in the plot), or null.
     * @param {[number, number]} at
     */
    hitAt: ([x, y]) => overlayHit(layers, pool.toScreen(), x, y),
  };
}
