// The map's level of detail over time: past `drawLimit` pool points the scatterplot draws a
// seeded sample, or every point near the view once they fit (maplod.js), chosen a moment after
// the camera stops rather than on every frame; a corner note says when a sample is shown.
import { h } from "../dom.js";
import { detailPlan, indicesInView, sameIndices, sampleNote, seededSample, viewBounds } from "../maplod.js";

/** the level of detail is chosen this long after the camera's last move */
const DETAIL_DELAY_MS = 100;
/** points this far beyond the view (a share of its size, each side) are drawn too */
const DETAIL_MARGIN = 0.25;

/**
 * @param {{
 *   pool: import("./mappool.js").MapPool,
 *   plot: HTMLElement,
 *   drawLimit: number,
 *   selected: () => number[],
 * }} ctx `selected`: the scatterplot's indices of the selection, drawn or not
 */
export function mapDetail({ pool, plot, drawLimit, selected }) {
  const note = h("div", { class: "aw-map-lod", hidden: true });
  /** @type {Int32Array | null} the seeded sample drawn when zoomed out (null: the pool fits) */
  let sample = null;
  /** @type {Int32Array | null} the scatterplot indices drawn now (null: all) */
  let drawnIndices = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let alive = true;

  /** Draw the sample, or every point near the view once they fit under the limit. */
  async function update() {
    const plotter = pool.plotter;
    if (!alive || !plotter) return;
    const total = pool.xy.x.length;
    let inView = null;
    if (sample) {
      const { width, height } = pool.size();
      const box = viewBounds(pool.view, width, height, plotter.get("aspectRatio") ?? 1, DETAIL_MARGIN);
      inView = indicesInView(pool.xy.x, pool.xy.y, box, drawLimit);
    }
    const plan = detailPlan(total, inView, sample ?? new Int32Array(0), drawLimit);
    const same = plan.indices === drawnIndices || (plan.indices && drawnIndices && sameIndices(plan.indices, drawnIndices));
    if (!same) {
      drawnIndices = plan.indices;
      if (plan.indices) await plotter.filter(Array.from(plan.indices), { preventEvent: true });
      else await plotter.unfilter?.({ preventEvent: true });
      if (!alive) return;
      // filtering drops the hidden points from the scatterplot's selection: show the whole one
      const points = selected();
      if (points.length) plotter.select([...points], { preventEvent: true });
    }
    const shown = plan.indices ? plan.indices.length : total;
    plot.dataset.drawn = String(shown);
    note.textContent = plan.sampled ? sampleNote(shown, total) : "";
    note.hidden = !plan.sampled;
  }

  return {
    /** the corner note */
    note,
    update,
    /** A pool of `n` points is about to be drawn: its sample, if it needs one. @param {number} n */
    reset(n) {
      sample = n > drawLimit ? seededSample(n, drawLimit, 0) : null;
      drawnIndices = null;
    },
    /** The camera moved: choose the level of detail once it stops. */
    schedule() {
      if (!sample) return;
      clearTimeout(timer);
      timer = setTimeout(update, DETAIL_DELAY_MS);
    },
    /** whether a sample of the pool is drawn when zoomed out */
    get sampled() {
      return sample !== null;
    },
    destroy() {
      alive = false;
      clearTimeout(timer);
    },
  };
}
