// The map's pool, drawn by WebGL (regl-scatterplot, shaded by density when zoomed out): made on
// first use at the plot's width and the declared height, in the pool's declared style. It keeps
// the pool layer it draws, that layer's frame and normalised coordinates (mapscene.js) and the
// camera's view, from which the layers above it learn where a point lands on screen. The
// scatterplot's events go to the handlers given.
import { frameOf, normalise, poolStyle, screenTransform } from "../mapscene.js";

/** regl-scatterplot, loaded on first use: bundled, but only evaluated once there is a map */
export const loadScatterplot = () => import("regl-scatterplot").then((m) => m.default ?? m);

/**
 * @typedef {{
 *   view: () => void,
 *   pointOver: (id: number, i: number) => void,
 *   pointOut: () => void,
 *   lassoStart: () => void,
 *   lassoEnd: (polygon: ArrayLike<number>[] | undefined) => void,
 *   select: (points: number[]) => void,
 *   deselect: () => void,
 * }} PoolEvents the scatterplot's events; `pointOver` gets the pool id and the scatterplot's index
 * @typedef {ReturnType<typeof mapPool>} MapPool
 */

/**
 * @param {{
 *   plot: HTMLElement,
 *   canvas: HTMLCanvasElement,
 *   renderer: () => Promise<(options: Record<string, any>) => any>,
 *   state: () => import("../mapdata.js").MapState,
 *   on: PoolEvents,
 * }} ctx
 */
export function mapPool({ plot, canvas, renderer, state, on }) {
  /** @type {any} the scatterplot, once made */
  let plotter = null;
  /** @type {Promise<any> | null} */
  let making = null;
  let alive = true;
  /** @type {import("../mapdata.js").Layer | null} the pool layer the scatterplot holds */
  let drawn = null;
  let frame = { cx: 0, cy: 0, scale: 1 };
  /** @type {{x: Float32Array, y: Float32Array}} the pool's normalised coordinates */
  let xy = { x: new Float32Array(0), y: new Float32Array(0) };
  /** @type {ArrayLike<number>} the camera's view matrix */
  let view = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

  function size() {
    const width = Math.max(200, Math.round(plot.getBoundingClientRect().width || 600));
    return { width, height: Number(state().layout?.height ?? 440) };
  }

  async function scatterplot() {
    if (plotter) return plotter;
    making ??= renderer().then((create) => {
      const { width, height } = size();
      plot.style.height = `${height}px`;
      const sp = create({
        canvas, width, height, syncEvents: true, lassoClearEvent: "deselect",
        deselectOnEscape: false, ...poolStyle(state().traces),
      });
      sp.subscribe("view", (/** @type {any} */ e) => { view = e.view; on.view(); });
      sp.subscribe("pointOver", (/** @type {number} */ i) => drawn && on.pointOver(drawn.ids[i], i));
      sp.subscribe("pointOut", () => on.pointOut());
      sp.subscribe("lassoStart", () => on.lassoStart());
      sp.subscribe("lassoEnd", (/** @type {any} */ e) => on.lassoEnd(e?.coordinates));
      sp.subscribe("select", ({ points }) => on.select(points));
      sp.subscribe("deselect", () => on.deselect());
      /** @type {any} for the browser tests: the renderer's own count, positions and selection */
      (canvas).scatterplot = sp;
      return sp;
    });
    plotter = await making;
    if (!alive) plotter.destroy();
    return plotter;
  }

  /**
   * Draw a new pool layer, in its own frame and the declared style, once the scatterplot is
   * made; false when the map is destroyed meanwhile.
   * @param {import("../mapdata.js").Layer} layer
   */
  async function drawPool(layer) {
    frame = frameOf(layer.xy);
    plotter.set(poolStyle(state().traces));
    xy = normalise(layer.xy, frame);
    await plotter.draw(xy);
    if (!alive) return false;
    drawn = layer;
    return true;
  }

  /** Where a normalised point lands on screen (CSS pixels from the plot's top left), as the camera stands. */
  function toScreen() {
    const { width, height } = size();
    return screenTransform(view, width, height, plotter?.get("aspectRatio") ?? 1);
  }

  /** Fit the scatterplot to the plot's size; false while no pool is drawn. */
  function resize() {
    if (!plotter || !drawn) return false;
    const { width, height } = size();
    plotter.set({ width, height });
    return true;
  }

  return {
    scatterplot,
    drawPool,
    size,
    toScreen,
    resize,
    /** the scatterplot, once made (null before, and once destroyed) */
    get plotter() {
      return plotter;
    },
    /** the pool layer the scatterplot holds */
    get drawn() {
      return drawn;
    },
    get frame() {
      return frame;
    },
    get xy() {
      return xy;
    },
    get view() {
      return view;
    },
    destroy() {
      alive = false;
      plotter?.destroy();
      plotter = null;
    },
  };
}
