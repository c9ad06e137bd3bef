// The map's selection, from the scatterplot's events. A lasso selects the points inside it; with
// a sample drawn (maplod.js) that is every pool point inside its polygon, drawn or not. The
// scatterplot takes the mouse-up of a lasso closed where it began for a click on a point: that
// keeps the lasso's selection. A real click on a point picks it (its text and buttons) and drops
// the selection. DOM-free; tested with node (js/test/maplasso.test.js).
import { pointsInPolygon } from "./maplod.js";
import { idsOfPoints } from "./mapscene.js";

/** a click this soon after a lasso's end is the lasso closing, not a click */
const CLOSING_CLICK_MS = 400;

/**
 * @typedef {{
 *   plotter: any, drawn: import("./mapdata.js").Layer | null,
 *   xy: {x: Float32Array, y: Float32Array},
 * }} PoolPoints the scatterplot, the pool layer it holds and its normalised coordinates
 */

/**
 * @param {{
 *   pool: PoolPoints,
 *   sampled: () => boolean,
 *   clicked: () => number | undefined,
 *   pick: (id: number) => void,
 *   onChange: (ids: number[]) => void,
 * }} ctx `sampled`: whether a sample is drawn; `clicked`: the id of the point whose label shows,
 * which answers a click first (it may lie above the pool); `onChange`: the selection's pool ids
 */
export function mapLasso({ pool, sampled, clicked, pick, onChange }) {
  /** @type {number[]} pool ids of the selection */
  let selected = [];
  let lassoing = false;
  /** @type {number[]} the scatterplot's indices of the last lasso */
  let lassoPoints = [];
  /** @type {number[]} the scatterplot's indices of the selection (drawn or not) */
  let selectedPoints = [];
  let lassoEnded = -Infinity;

  /** @param {number[]} ids */
  function setSelection(ids) {
    if (!ids.length) selectedPoints = [];
    if (!ids.length && !selected.length) return;
    selected = ids;
    onChange(ids);
  }

  /** The scatterplot selected points: a lasso's selection, or a click on one point. @param {number[]} points */
  function select(points) {
    const drawn = pool.drawn;
    if (!drawn) return;
    if (lassoing) {
      // with a sample drawn, the lasso's end selects from the whole pool (end)
      if (sampled()) return;
      lassoing = false;
      lassoPoints = [...points];
      selectedPoints = lassoPoints;
      setSelection(idsOfPoints(drawn.ids, points));
      return;
    }
    if (performance.now() - lassoEnded < CLOSING_CLICK_MS && selected.length) {
      // a lasso closed where it began ends in what the scatterplot takes for a click: keep the lasso's
      pool.plotter.select([...lassoPoints], { preventEvent: true });
      return;
    }
    // a click: the point's text and buttons; what is drawn on top answers first
    const id = clicked() ?? drawn.ids[points[0]];
    pool.plotter.deselect({ preventEvent: true });
    if (selected.length) setSelection([]);
    if (typeof id === "number") pick(id);
  }

  /**
   * The lasso ended: with a sample drawn, its selection is every pool point inside the
   * polygon (in the scatterplot's normalised coordinates), drawn or not.
   * @param {ArrayLike<number>[] | undefined} polygon
   */
  function end(polygon) {
    lassoEnded = performance.now();
    if (!lassoing) return;
    lassoing = false;
    const drawn = pool.drawn;
    if (!drawn || !polygon) return;
    lassoPoints = Array.from(pointsInPolygon(pool.xy.x, pool.xy.y, polygon));
    selectedPoints = lassoPoints;
    // a copy: the scatterplot keeps the array it is given and drops the filtered-out points from it
    pool.plotter.select([...lassoPoints], { preventEvent: true });
    setSelection(idsOfPoints(drawn.ids, lassoPoints));
  }

  return {
    start() {
      lassoing = true;
    },
    select,
    end,
    /** The scatterplot dropped its selection. */
    deselect: () => setSelection([]),
    /** Drop the selection (the side panel has labelled or skipped it). */
    clear() {
      pool.plotter?.deselect({ preventEvent: true });
      setSelection([]);
    },
    /** A new pool is drawn: nothing of it is selected yet. */
    reset() {
      selected = [];
      selectedPoints = [];
    },
    /** The scatterplot's indices of the selection, drawn or not. */
    get points() {
      return selectedPoints;
    },
  };
}
