// DOM-free helpers for the map and the curves: decode the kernel's binary `map_update` messages
// (format: anchoral_widget.views.mapupdate.map_update_payload) and apply them to a map state, which
// keeps the kernel's declarations (styles.map_declarations: order, uid, style, legend, hover
// wording) for mapscene.js to draw; turn the `curves` trait into plotly traces. No style is
// chosen here: every colour, symbol and layer order comes in the message.
// Tested with node (js/test/mapdata.test.js).

export const LAYERS = ["pool", "subpool", "labelled", "anchors", "batch"];

/**
 * @typedef {{buffer: number, dtype: "int32" | "float32", shape: number[]}} ArrayRef
 * @typedef {{ids: Int32Array, xy: Float32Array, values: Int32Array | Float32Array | null}} Layer
 * @typedef {{label?: string, value?: string, decimals?: number, min?: number}} HoverSpec
 * @typedef {{layer: string, class?: number, trace: Record<string, any>, hover?: HoverSpec, colour?: "values", shading?: "density"}} Declaration
 * @typedef {{
 *   iteration: number, classes: string[], minority: string[], traces: Declaration[],
 *   layout: Record<string, any>, layers: Record<string, Layer>, texts: Map<number, string>
 * }} MapState
 */

/** @returns {Layer} */
function emptyLayer() {
  return { ids: new Int32Array(0), xy: new Float32Array(0), values: null };
}

/** @returns {MapState} */
export function emptyMap() {
  return {
    iteration: -1, classes: [], minority: [], traces: [], layout: {},
    layers: Object.fromEntries(LAYERS.map((name) => [name, emptyLayer()])), texts: new Map(),
  };
}

/**
 * The typed array a reference points at. Buffers may be DataViews, ArrayBuffers or typed
 * arrays (what a comm gives differs between front ends); bytes are little-endian.
 * @param {ArrayRef} ref @param {(DataView | ArrayBuffer | ArrayBufferView)[]} buffers
 */
export function decodeArray(ref, buffers) {
  const raw = buffers[ref.buffer];
  if (raw === undefined) throw new Error(`map message refers to missing buffer ${ref.buffer}`);
  const view = raw instanceof ArrayBuffer ? new Uint8Array(raw) : new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = ref.shape.reduce((a, b) => a * b, 1);
  if (view.byteLength !== n * 4) throw new Error(`buffer ${ref.buffer} has ${view.byteLength} bytes, expected ${n * 4}`);
  const copy = view.slice().buffer; // aligned, and independent of the message's memory
  if (ref.dtype === "int32") return new Int32Array(copy);
  if (ref.dtype === "float32") return new Float32Array(copy);
  throw new Error(`unknown dtype ${ref.dtype}`);
}

/** @param {Record<string, any>} fields @param {any[]} buffers @returns {Layer} */
function decodeLayer(fields, buffers) {
  const valueKey = ["scores", "classes", "anchor"].find((k) => k in fields);
  return {
    ids: /** @type {Int32Array} */ (decodeArray(fields.ids, buffers)),
    xy: /** @type {Float32Array} */ (decodeArray(fields.xy, buffers)),
    values: valueKey ? decodeArray(fields[valueKey], buffers) : null,
  };
}

/** @param {Layer} a @param {Layer} b @returns {Layer} b's points not already in a, after a's */
function appendLayer(a, b) {
  const seen = new Set(a.ids);
  const keep = [...b.ids.keys()].filter((i) => !seen.has(b.ids[i]));
  const ids = new Int32Array(a.ids.length + keep.length);
  const xy = new Float32Array(ids.length * 2);
  const values = new Int32Array(ids.length);
  ids.set(a.ids);
  xy.set(a.xy);
  if (a.values) values.set(a.values);
  keep.forEach((i, k) => {
    const j = a.ids.length + k;
    ids[j] = b.ids[i];
    xy[2 * j] = b.xy[2 * i];
    xy[2 * j + 1] = b.xy[2 * i + 1];
    values[j] = b.values ? b.values[i] : -1;
  });
  return { ids, xy, values };
}

/**
 * The map after one `map_update` message: a new state (the old one is not changed). A full
 * message replaces everything; otherwise absent layers stay, `labelled` appends or replaces,
 * and the trace declarations and layout stay unless the message brings new ones.
 * @param {MapState} state @param {any} header @param {any[]} buffers @returns {MapState}
 */
export function applyMapUpdate(state, header, buffers) {
  if (header.kind !== "map_update" || header.version !== 2) throw new Error(`not a map update: ${header.kind} v${header.version}`);
  if (header.full && !Array.isArray(header.traces)) throw new Error("a full map update without its trace declarations");
  const base = header.full ? emptyMap() : state;
  const next = {
    ...base,
    iteration: header.iteration,
    layers: { ...base.layers },
    texts: new Map(base.texts),
  };
  if (header.full) Object.assign(next, { classes: header.classes, minority: header.minority });
  if (header.traces) next.traces = header.traces;
  if (header.layout) next.layout = header.layout;
  for (const [name, fields] of Object.entries(header.layers ?? {})) {
    const layer = decodeLayer(fields, buffers);
    next.layers[name] = name === "labelled" && fields.mode === "append" ? appendLayer(next.layers.labelled, layer) : layer;
  }
  for (const [id, text] of Object.entries(header.texts ?? {})) next.texts.set(Number(id), text);
  return next;
}

/** Text for plotly's hover label, which reads a little HTML: escaped, so it shows as typed. */
export function escapeHover(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Position of a pool item on the map, from whichever layer holds it; null if none does.
 * @param {MapState} state @param {number} id @returns {[number, number] | null}
 */
export function positionOf(state, id) {
  for (const name of ["batch", "anchors", "labelled", "subpool", "pool"]) {
    const layer = state.layers[name];
    const i = layer.ids.indexOf(id);
    if (i >= 0) return [layer.xy[2 * i], layer.xy[2 * i + 1]];
  }
  return null;
}

/**
 * The anchor that retrieved a batch item, as the map message says (-1 / null: none).
 * @param {MapState} state @param {number} id
 */
export function anchorOf(state, id) {
  const batch = state.layers.batch;
  const i = batch.ids.indexOf(id);
  if (i < 0 || !batch.values || batch.values[i] < 0) return null;
  return batch.values[i];
}

/** Panels of the curves' 2x2 grid: [x domain, y domain]. */
const PANELS = [
  [[0, 0.44], [0.62, 1]],
  [[0.56, 1], [0.62, 1]],
  [[0, 0.44], [0.08, 0.46]],
  [[0.56, 1], [0.08, 0.46]],
];

/**
 * Plotly data and layout for the `curves` trait: four panels (minority share, F1, waiting
 * time, labels per class); a series without any point stays, but out of the legend.
 * @param {{traces?: any[], titles?: string[]}} curves
 */
export function curvesFigure(curves) {
  const data = (curves.traces ?? []).map(({ panel, ...trace }) => ({
    ...trace,
    xaxis: panel === 0 ? "x" : `x${panel + 1}`,
    yaxis: panel === 0 ? "y" : `y${panel + 1}`,
    showlegend: trace.showlegend !== false && (trace.y ?? []).some((v) => v !== null),
  }));
  /** @type {Record<string, any>} */
  const layout = {
    height: 560, barmode: "stack", uirevision: "curves", margin: { l: 40, r: 10, t: 30, b: 10 },
    legend: { orientation: "h", y: -0.12, yanchor: "top", font: { size: 10 } }, annotations: [],
  };
  const points = Math.max(0, ...data.map((t) => (t.x ?? []).length));
  const dtick = Math.max(1, Math.ceil(points / 8)); // whole iterations, at most about 8 ticks
  PANELS.forEach(([xd, yd], i) => {
    const s = i === 0 ? "" : String(i + 1);
    layout[`xaxis${s}`] = { domain: xd, anchor: `y${s}`, title: i >= 2 ? { text: "iteration", standoff: 4 } : undefined, tick0: 0, dtick, rangemode: "tozero" };
    layout[`yaxis${s}`] = { domain: yd, anchor: `x${s}`, ...(i < 2 ? { range: [0, 1.02] } : { rangemode: "tozero" }) };
    layout.annotations.push({
      text: escapeHover(curves.titles?.[i] ?? ""), showarrow: false, xref: "paper", yref: "paper",
      x: (xd[0] + xd[1]) / 2, y: yd[1], xanchor: "center", yanchor: "bottom", font: { size: 12 },
    });
  });
  return { data, layout };
}
