// Where the map opens: on the items the person works with (the labels and the batch), with the
// pool around them, rather than on the whole pool, where the rings and stars pile into one dark
// cluster. DOM-free: the area is in the scatterplot's normalised coordinates.

/** The smallest side of the area opened on, in normalised units (the whole pool spans 1.8). */
export const MIN_SPAN = 0.6;
/** The margin around the items, as a share of their extent. */
export const PAD = 0.3;

/**
 * The square area ({x, y, width, height}, lower-left corner) holding every point of `layers`
 * (interleaved data x, y) with a margin, at least MIN_SPAN wide; null with fewer than two points.
 * @param {Float32Array[]} layers @param {import("./mapscene.js").Frame} frame
 */
export function focusArea(layers, frame) {
  let [x0, x1, y0, y1, n] = [Infinity, -Infinity, Infinity, -Infinity, 0];
  for (const xy of layers) {
    for (let i = 0; i < xy.length; i += 2) {
      const x = (xy[i] - frame.cx) * frame.scale, y = (xy[i + 1] - frame.cy) * frame.scale;
      if (!(Number.isFinite(x) && Number.isFinite(y))) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      n += 1;
    }
  }
  if (n < 2) return null;
  const side = Math.min(2, Math.max(MIN_SPAN, Math.max(x1 - x0, y1 - y0) * (1 + 2 * PAD)));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return { x: cx - side / 2, y: cy - side / 2, width: side, height: side };
}
