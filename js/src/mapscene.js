// DOM-free logic of the map's renderer: the kernel's declarations (views/styles.py
// map_declarations) and the decoded layers (mapdata.js) turned into what is drawn. The whole
// pool goes to the WebGL scatterplot (regl-scatterplot) as normalised coordinates; the layers
// above it (subpool, labelled, batch, anchors, highlight) are few points, drawn in their
// declared order on a 2-D canvas over it. Every colour, size, symbol and the order come from
// the declarations; nothing here picks a style.
// Tested with node (js/test/mapscene.test.js).

/**
 * @typedef {import("./mapdata.js").MapState} MapState
 * @typedef {import("./mapdata.js").Declaration} Declaration
 * @typedef {{cx: number, cy: number, scale: number}} Frame data -> [-1, 1]: (v - c) * scale
 * @typedef {{
 *   uid: string, name: string, symbol: string, size: number, opacity: number,
 *   lineWidth: number, lineColour: string | null, ids: number[], x: Float32Array, y: Float32Array,
 *   colours: string[]
 * }} OverlayLayer points in normalised coordinates, one colour per point
 */

/**
 * The square frame that puts every point of the pool inside [-1, 1] on both axes, with the
 * same scale on both (the map's distances mean something) and a small margin.
 * @param {Float32Array} xy interleaved x, y
 * @returns {Frame}
 */
export function frameOf(xy) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < xy.length; i += 2) {
    const x = xy[i], y = xy[i + 1];
    if (!(Number.isFinite(x) && Number.isFinite(y))) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x0 > x1) return { cx: 0, cy: 0, scale: 1 };
  const half = Math.max(x1 - x0, y1 - y0, 1e-9) / 2;
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: 0.9 / half };
}

/**
 * Interleaved data coordinates, normalised: columns for the scatterplot.
 * @param {Float32Array} xy @param {Frame} frame
 */
export function normalise(xy, frame) {
  const n = xy.length / 2;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = (xy[2 * i] - frame.cx) * frame.scale;
    y[i] = (xy[2 * i + 1] - frame.cy) * frame.scale;
  }
  return { x, y };
}

/** The pool's declaration (the bottom layer, drawn by WebGL); throws when none is declared. */
export function poolDeclaration(/** @type {Declaration[]} */ traces) {
  const decl = traces.find((d) => d.layer === "pool");
  if (!decl) throw new Error("the map's declarations have no pool layer");
  return decl;
}

/**
 * The scatterplot's settings for the pool, from its declaration: colour, size, opacity, the
 * opacity left to the point density when the declaration asks for shading, and the colour of
 * selected points from the "selection" declaration.
 * @param {Declaration[]} traces
 */
export function poolStyle(traces) {
  const marker = poolDeclaration(traces).trace.marker ?? {};
  const selection = traces.find((d) => d.layer === "selection")?.trace.marker ?? {};
  /** @type {Record<string, any>} */
  const style = {
    pointColor: marker.color,
    pointSize: marker.size,
    opacity: marker.opacity ?? 1,
    opacityBy: poolDeclaration(traces).shading === "density" ? "density" : null,
  };
  if (selection.color) style.pointColorActive = selection.color;
  if (selection.size) style.pointSizeSelected = selection.size;
  return style;
}

/** `#rrggbb` -> its three channels */
function channels(/** @type {string} */ hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/**
 * The colour of `t` in [0, 1] on a plotly-style colour scale ([[0, "#..."], ..., [1, "#..."]]).
 * @param {[number, string][]} scale @param {number} t
 */
export function colourAt(scale, t) {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  let k = 1;
  while (k < scale.length - 1 && scale[k][0] < u) k++;
  const [t0, c0] = scale[k - 1];
  const [t1, c1] = scale[k];
  const f = t1 > t0 ? (u - t0) / (t1 - t0) : 0;
  const [a, b] = [channels(c0), channels(c1)];
  return `#${a.map((v, i) => Math.round(v + (b[i] - v) * f).toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The rows of a layer that fill a declaration: all of them, or those of its class.
 * @param {import("./mapdata.js").Layer} layer @param {Declaration} decl
 */
function rowsOf(layer, decl) {
  const rows = [];
  for (let r = 0; r < layer.ids.length; r++) {
    if (decl.class === undefined || layer.values?.[r] === decl.class) rows.push(r);
  }
  return rows;
}

/**
 * The layers above the pool, in their declared order (bottom first), each with its points
 * normalised in `frame` and a colour per point ("values" colouring spreads the layer's
 * values over the declared colour scale, lowest to highest, as plotly does). Hidden layers
 * (by uid) and empty ones are left out; the "highlight" layer rings the given ids.
 * @param {MapState} state @param {Frame} frame
 * @param {{hidden?: Set<string>, highlight?: number[], position?: (id: number) => [number, number] | null}} [options]
 * @returns {OverlayLayer[]}
 */
export function overlayLayers(state, frame, { hidden = new Set(), highlight = [], position = () => null } = {}) {
  /** @type {OverlayLayer[]} */
  const out = [];
  for (const decl of state.traces) {
    if (decl.layer === "pool" || decl.layer === "selection") continue;
    const uid = decl.trace.uid;
    if (hidden.has(uid)) continue;
    /** @type {number[]} */
    let ids = [];
    /** @type {number[]} */
    let xs = [];
    /** @type {number[]} */
    let ys = [];
    /** @type {number[] | null} */
    let values = null;
    if (decl.layer === "highlight") {
      for (const id of highlight) {
        const p = position(id);
        if (p) [ids, xs, ys] = [[...ids, id], [...xs, p[0]], [...ys, p[1]]];
      }
    } else {
      const layer = state.layers[decl.layer];
      if (!layer) continue;
      const rows = rowsOf(layer, decl);
      ids = rows.map((r) => layer.ids[r]);
      xs = rows.map((r) => layer.xy[2 * r]);
      ys = rows.map((r) => layer.xy[2 * r + 1]);
      values = layer.values ? rows.map((r) => Number(layer.values?.[r])) : null;
    }
    if (!ids.length) continue;
    const marker = decl.trace.marker ?? {};
    let colours = ids.map(() => marker.color);
    if (decl.colour === "values" && values && marker.colorscale) {
      const [lo, hi] = [Math.min(...values), Math.max(...values)];
      colours = values.map((v) => colourAt(marker.colorscale, hi > lo ? (v - lo) / (hi - lo) : 0.5));
    }
    out.push({
      uid,
      name: decl.trace.name,
      symbol: marker.symbol ?? "",
      size: marker.size ?? 6,
      opacity: marker.opacity ?? 1,
      lineWidth: marker.line?.width ?? 0,
      lineColour: marker.line?.color ?? null,
      ids,
      x: Float32Array.from(xs, (v) => (v - frame.cx) * frame.scale),
      y: Float32Array.from(ys, (v) => (v - frame.cy) * frame.scale),
      colours,
    });
  }
  return out;
}

/**
 * The first line of a point's hover label, as its declaration words it: `#id`, then the
 * label, then the value in the declared template (fixed decimals, none below `min`).
 * @param {Declaration} decl @param {number} id @param {number | null} value
 */
export function hoverHead(decl, id, value) {
  const spec = decl.hover ?? {};
  let line = `#${id}${spec.label === undefined ? "" : ` ${spec.label}`}`;
  if (spec.value !== undefined && value !== null && (spec.min === undefined || value >= spec.min)) {
    line += spec.value.replace("{}", spec.decimals === undefined ? String(value) : value.toFixed(spec.decimals));
  }
  return line;
}

/**
 * The legend: one entry per declared trace that asks for one, in declared order, with what
 * its swatch shows (the declared symbol and colour; the colour scale's middle for "values").
 * @param {Declaration[]} traces
 * @returns {{uid: string, name: string, symbol: string, colour: string, scale: [number, string][] | null}[]}
 */
export function legendEntries(traces) {
  return traces
    .filter((d) => d.trace.showlegend !== false && d.layer !== "highlight" && d.layer !== "selection")
    .map((d) => {
      const marker = d.trace.marker ?? {};
      const scale = d.colour === "values" ? marker.colorscale ?? null : null;
      return { uid: d.trace.uid, name: d.trace.name, symbol: marker.symbol ?? "", colour: scale ? colourAt(scale, 0.5) : marker.color, scale };
    });
}

/**
 * Screen position (CSS pixels from the top left) of a normalised point, as the scatterplot
 * places it: clip = projection * view * model * point, with the camera's view matrix
 * (column-major 4x4), projection scaling x by 1 / (width / height) and model by the data's
 * aspect ratio.
 * @param {ArrayLike<number>} view @param {number} width @param {number} height @param {number} [aspect]
 * @returns {(x: number, y: number) => [number, number]}
 */
export function screenTransform(view, width, height, aspect = 1) {
  return (x, y) => {
    const mx = x * aspect;
    const cx = (view[0] * mx + view[4] * y + view[12]) * (height / width);
    const cy = view[1] * mx + view[5] * y + view[13];
    return [(width * (cx + 1)) / 2, height * (0.5 - cy / 2)];
  };
}

/**
 * The topmost overlay point under a screen position (within its drawn radius plus `slack`
 * pixels); null if none. Layers are searched top first, as they are drawn.
 * @param {OverlayLayer[]} layers @param {(x: number, y: number) => [number, number]} toScreen
 * @param {number} px @param {number} py @param {number} [slack]
 * @returns {{uid: string, id: number} | null}
 */
export function overlayHit(layers, toScreen, px, py, slack = 2) {
  for (let k = layers.length - 1; k >= 0; k--) {
    const layer = layers[k];
    const r = layer.size / 2 + slack;
    let best = null;
    let bestD = r * r;
    for (let i = 0; i < layer.ids.length; i++) {
      const [sx, sy] = toScreen(layer.x[i], layer.y[i]);
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d <= bestD) [best, bestD] = [i, d];
    }
    if (best !== null && layer.uid !== "highlight") return { uid: layer.uid, id: layer.ids[best] };
  }
  return null;
}

/**
 * Pool ids of the scatterplot's point indices (the pool layer's order), as a plain array in
 * ascending order of id.
 * @param {Int32Array} poolIds @param {ArrayLike<number>} indices
 */
export function idsOfPoints(poolIds, indices) {
  return Array.from(indices, (i) => {
    if (!(i >= 0 && i < poolIds.length)) throw new Error(`the map has no point ${i}`);
    return poolIds[i];
  }).sort((a, b) => a - b);
}
