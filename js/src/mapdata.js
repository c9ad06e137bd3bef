// DOM-free helpers for the map and the curves: decode the kernel's binary `map_update` messages
// (format: anchoral_widget.plots.map_update_payload), apply them to a map state, and turn a
// state or the `curves` trait into plotly traces. Tested with node (js/test/mapdata.test.js).

export const LAYERS = ["pool", "subpool", "labelled", "anchors", "batch"];
const POOL_COLOUR = "#9e9e9e";
const SUBPOOL_COLOUR = "#6baed6";
const BATCH_COLOUR = "#e6007e";
const HIGHLIGHT_COLOUR = "#000000";

/**
 * @typedef {{buffer: number, dtype: "int32" | "float32", shape: number[]}} ArrayRef
 * @typedef {{ids: Int32Array, xy: Float32Array, values: Int32Array | Float32Array | null}} Layer
 * @typedef {{
 *   iteration: number, classes: string[], minority: string[], colours: Record<string, string>,
 *   symbols: string[], layers: Record<string, Layer>, texts: Map<number, string>
 * }} MapState
 */

/** @returns {Layer} */
function emptyLayer() {
  return { ids: new Int32Array(0), xy: new Float32Array(0), values: null };
}

/** @returns {MapState} */
export function emptyMap() {
  return {
    iteration: -1, classes: [], minority: [], colours: {}, symbols: [],
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
 * message replaces everything; otherwise absent layers stay, `labelled` appends or replaces.
 * @param {MapState} state @param {any} header @param {any[]} buffers @returns {MapState}
 */
export function applyMapUpdate(state, header, buffers) {
  if (header.kind !== "map_update" || header.version !== 1) throw new Error(`not a map update: ${header.kind} v${header.version}`);
  const base = header.full ? emptyMap() : state;
  const next = {
    ...base,
    iteration: header.iteration,
    layers: { ...base.layers },
    texts: new Map(base.texts),
  };
  if (header.full) Object.assign(next, { classes: header.classes, minority: header.minority, colours: header.colours, symbols: header.symbols });
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

/** @param {Layer} layer @param {(i: number) => boolean} keep */
function pick(layer, keep) {
  const rows = [...layer.ids.keys()].filter(keep);
  return {
    ids: rows.map((i) => layer.ids[i]),
    x: Float32Array.from(rows, (i) => layer.xy[2 * i]),
    y: Float32Array.from(rows, (i) => layer.xy[2 * i + 1]),
    rows,
  };
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

/**
 * Plotly traces of the map, bottom layer first, each with `uid` naming its layer (as in
 * plots.map_traces) and `customdata` holding pool ids; last the "highlight" trace that card
 * hover fills.
 * @param {MapState} state @param {number[]} [highlight] ids to ring
 */
export function mapTraces(state, highlight = []) {
  const hover = (/** @type {number[]} */ ids, /** @type {string[] | null} */ prefix = null) =>
    ids.map((id, n) => {
      const text = state.texts.get(id);
      return `#${id}${prefix ? ` ${prefix[n]}` : ""}${text === undefined ? "" : `<br>${escapeHover(text)}`}`;
    });
  const xy = (/** @type {{ids: number[], x: Float32Array, y: Float32Array}} */ p) => ({ x: p.x, y: p.y, customdata: p.ids });
  const { layers, classes, minority, colours, symbols } = state;
  // minority classes last, so that their few points are not buried under the majority's
  const order = [...classes.keys()].sort((a, b) => Number(minority.includes(classes[a])) - Number(minority.includes(classes[b])));
  const pool = pick(layers.pool, () => true);
  const traces = [
    { type: "scattergl", uid: "pool", name: "pool sample", mode: "markers", ...xy(pool), marker: { size: 3, color: POOL_COLOUR, opacity: 0.3 }, hovertext: hover(pool.ids), hoverinfo: "text" },
  ];
  const sub = pick(layers.subpool, () => true);
  const scores = layers.subpool.values;
  traces.push({
    type: "scattergl", uid: "subpool", mode: "markers", ...xy(sub), name: scores ? "subpool (AnchorAL score)" : "subpool",
    marker: scores
      ? { size: 6, color: Array.from(scores), colorscale: "Viridis", opacity: 0.85, colorbar: { title: { text: "score" }, thickness: 12, len: 0.6 } }
      : { size: 6, color: SUBPOOL_COLOUR, opacity: 0.75 },
    hovertext: hover(sub.ids, scores ? Array.from(scores, (s) => `score ${s.toFixed(3)}`) : null), hoverinfo: "text",
  });
  for (const i of order) {
    const p = pick(layers.labelled, (r) => layers.labelled.values?.[r] === i);
    traces.push({
      type: "scattergl", uid: `labelled:${i}`, name: `labelled: ${classes[i]}`, mode: "markers", ...xy(p),
      marker: { size: 7, color: colours[classes[i]], line: { width: 0.5, color: "white" } },
      hovertext: hover(p.ids, p.ids.map(() => classes[i])), hoverinfo: "text",
    });
  }
  for (const i of order) {
    const p = pick(layers.anchors, (r) => layers.anchors.values?.[r] === i);
    traces.push({
      type: "scatter", uid: `anchors:${i}`, name: `anchors: ${classes[i]}`, mode: "markers", ...xy(p),
      marker: { size: 15, symbol: symbols[i], color: colours[classes[i]], line: { width: 1.5, color: "black" } },
      hovertext: hover(p.ids, p.ids.map(() => `anchor (${classes[i]})`)), hoverinfo: "text",
    });
  }
  const batch = pick(layers.batch, () => true);
  const via = batch.rows.map((r) => (layers.batch.values && layers.batch.values[r] >= 0 ? `batch, via anchor #${layers.batch.values[r]}` : "batch"));
  traces.push({
    type: "scatter", uid: "batch", name: "batch", mode: "markers", ...xy(batch),
    marker: { size: 17, symbol: "circle-open", color: BATCH_COLOUR, line: { width: 2.5 } },
    hovertext: hover(batch.ids, via), hoverinfo: "text",
  });
  traces.push(highlightTrace(state, highlight));
  return traces;
}

/** The "highlight" trace: rings around the given ids (a card and its anchor). */
export function highlightTrace(state, ids) {
  const points = ids.map((id) => [id, positionOf(state, id)]).filter(([, p]) => p !== null);
  return {
    type: "scatter", uid: "highlight", name: "highlight", mode: "markers", showlegend: false, hoverinfo: "skip",
    x: points.map(([, p]) => p[0]), y: points.map(([, p]) => p[1]), customdata: points.map(([id]) => id),
    marker: { size: 26, symbol: "circle-open", color: HIGHLIGHT_COLOUR, line: { width: 3 } },
  };
}

export const MAP_LAYOUT = {
  height: 440,
  margin: { l: 10, r: 10, t: 10, b: 10 },
  xaxis: { visible: false },
  yaxis: { visible: false, scaleanchor: "x" },
  legend: { orientation: "h", y: -0.02, yanchor: "top", font: { size: 10 } },
  plot_bgcolor: "white",
  uirevision: "map",
  clickmode: "event",
  hovermode: "closest",
};

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
    showlegend: (trace.y ?? []).some((v) => v !== null),
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
