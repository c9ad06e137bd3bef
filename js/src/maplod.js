// Level of detail for the map's pool: without a GPU the frame time grows with the points
// drawn, so past `DRAW_LIMIT` points the scatterplot draws a fixed seeded sample of the pool
// (the same points every time: no flicker), shaded by density, and every point once the view
// is zoomed in to fewer than the limit. A lasso selects from the whole pool's coordinates,
// drawn or not (pointsInPolygon). All in normalised coordinates (mapscene.normalise).
// DOM-free; tested with node (js/test/maplod.test.js).

/**
 * Most pool points drawn at once. Measured in headless Chromium on SwiftShader (no GPU;
 * benchmarks/map_render.py, 800x600, zoomed out): a frame while panning took about 50 ms with
 * 30k points drawn, 70-85 ms with 60k, 110-170 ms with 100k and 200 ms with 150k.
 */
export const DRAW_LIMIT = 50_000;

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). @param {number} seed */
function mulberry32(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `k` distinct indices of `0..n-1`, drawn uniformly with a seeded generator, in ascending
 * order: the same for the same `n`, `k` and `seed`. All of them when `k >= n`.
 * @param {number} n @param {number} k @param {number} [seed]
 */
export function seededSample(n, k, seed = 0) {
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(k) && k >= 0)) {
    throw new Error(`a sample needs whole, non-negative sizes, got ${k} of ${n}`);
  }
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  // the first k steps of a Fisher-Yates shuffle
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(0, k).sort();
}

/**
 * The rectangle of normalised coordinates the screen shows (the inverse of
 * mapscene.screenTransform), widened by `margin` of its size on each side so that a short pan
 * finds the points next to the view already drawn.
 * @param {ArrayLike<number>} view the camera's view matrix (column-major 4x4)
 * @param {number} width @param {number} height @param {number} [aspect] @param {number} [margin]
 * @returns {{x0: number, x1: number, y0: number, y1: number}}
 */
export function viewBounds(view, width, height, aspect = 1, margin = 0) {
  // clip x = (v0 * a * x + v4 * y + v12) * height / width, clip y = v1 * a * x + v5 * y + v13
  const [a, b, c, d] = [view[0] * aspect * (height / width), view[4] * (height / width), view[1] * aspect, view[5]];
  const [e, f] = [view[12] * (height / width), view[13]];
  const det = a * d - b * c;
  if (!Number.isFinite(det) || det === 0) throw new Error("the map's camera has a singular view matrix");
  const xs = [];
  const ys = [];
  for (const [u, v] of [[-1, -1], [-1, 1], [1, -1], [1, 1]]) {
    const [p, q] = [u - e, v - f];
    xs.push((d * p - b * q) / det);
    ys.push((a * q - c * p) / det);
  }
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const [mx, my] = [(x1 - x0) * margin, (y1 - y0) * margin];
  return { x0: x0 - mx, x1: x1 + mx, y0: y0 - my, y1: y1 + my };
}

/**
 * Indices of the points inside the rectangle, ascending; null as soon as there are more than
 * `limit` (the caller draws the sample then).
 * @param {ArrayLike<number>} x @param {ArrayLike<number>} y
 * @param {{x0: number, x1: number, y0: number, y1: number}} box @param {number} [limit]
 * @returns {Int32Array | null}
 */
export function indicesInView(x, y, { x0, x1, y0, y1 }, limit = Infinity) {
  const out = [];
  for (let i = 0; i < x.length; i++) {
    const px = x[i], py = y[i];
    if (px >= x0 && px <= x1 && py >= y0 && py <= y1) {
      if (out.length >= limit) return null;
      out.push(i);
    }
  }
  return Int32Array.from(out);
}

/**
 * Indices of the points inside a polygon (even-odd rule), ascending: every point of the
 * coordinates, whether the scatterplot draws it or not.
 * @param {ArrayLike<number>} x @param {ArrayLike<number>} y
 * @param {ArrayLike<number>[]} polygon vertices [x, y], in order; closed implicitly
 */
export function pointsInPolygon(x, y, polygon) {
  const m = polygon.length;
  if (m < 3) return new Int32Array(0);
  const vx = Float64Array.from(polygon, (p) => Number(p[0]));
  const vy = Float64Array.from(polygon, (p) => Number(p[1]));
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let k = 0; k < m; k++) {
    if (!(Number.isFinite(vx[k]) && Number.isFinite(vy[k]))) throw new Error(`the lasso's vertex ${k} is not a number`);
    x0 = Math.min(x0, vx[k]);
    x1 = Math.max(x1, vx[k]);
    y0 = Math.min(y0, vy[k]);
    y1 = Math.max(y1, vy[k]);
  }
  const out = [];
  for (let i = 0; i < x.length; i++) {
    const px = x[i], py = y[i];
    if (px < x0 || px > x1 || py < y0 || py > y1) continue;
    let inside = false;
    for (let k = 0, j = m - 1; k < m; j = k++) {
      if (vy[k] > py !== vy[j] > py && px < ((vx[j] - vx[k]) * (py - vy[k])) / (vy[j] - vy[k]) + vx[k]) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return Int32Array.from(out);
}

/**
 * What to draw: `null` for every point (the pool fits the limit), the points in view when
 * they fit, else the sample.
 * @param {number} n the pool's size @param {Int32Array | null} inView @param {Int32Array} sample
 * @param {number} [limit]
 * @returns {{indices: Int32Array | null, sampled: boolean}}
 */
export function detailPlan(n, inView, sample, limit = DRAW_LIMIT) {
  if (n <= limit) return { indices: null, sampled: false };
  if (inView && inView.length <= limit) return { indices: inView, sampled: false };
  return { indices: sample, sampled: true };
}

/** The map's corner note while a sample is shown. @param {number} shown @param {number} total */
export function sampleNote(shown, total) {
  const f = (/** @type {number} */ v) => v.toLocaleString("en-US");
  return `showing ${f(shown)} of ${f(total)}: zoom in for every point`;
}

/** Whether two index lists hold the same indices in the same order. @param {Int32Array} a @param {Int32Array} b */
export function sameIndices(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
