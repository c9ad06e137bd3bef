// map_update messages for the tests, built as the kernel builds them. The first map is the
// kernel's own: js/test/map-example.json, written by tests/views/test_plots.py from views/mapupdate.py,
// with the traces that Python draws from it. Deltas are built here, as mapupdate.map_update_payload
// encodes them.
import data from "./map-example.json";

/** @type {{header: any, buffers: string[], highlight: number[], traces: any[]}} */
export const example = data;

/** bytes at an odd offset inside a larger buffer, as a comm may deliver them */
function offsetView(/** @type {Uint8Array} */ bytes) {
  const host = new Uint8Array(bytes.byteLength + 3);
  host.set(bytes, 3);
  return new DataView(host.buffer, 3, bytes.byteLength);
}

/** The example's message: its header, and its buffers decoded from base64. */
export function firstMap() {
  return {
    header: structuredClone(example.header),
    buffers: example.buffers.map((b) => offsetView(Uint8Array.from(Buffer.from(b, "base64")))),
  };
}

/** A map_update message (mapupdate.map_update_payload): header + buffers; a full one carries the
 * example's classes, trace declarations and layout. */
export function payload({ full = true, iteration = 0, layers = {}, texts = {} } = {}) {
  /** @type {DataView[]} */
  const buffers = [];
  const ref = (/** @type {number[]} */ values, /** @type {"int32" | "float32"} */ dtype, shape = [values.length]) => {
    const array = dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values);
    buffers.push(offsetView(new Uint8Array(array.buffer)));
    return { buffer: buffers.length - 1, dtype, shape };
  };
  const encoded = {};
  for (const [name, l] of Object.entries(layers)) {
    encoded[name] = { ids: ref(l.ids, "int32"), xy: ref(l.xy, "float32", [l.ids.length, 2]) };
    if (l.mode) encoded[name].mode = l.mode;
    for (const [key, dtype] of [["scores", "float32"], ["classes", "int32"], ["anchor", "int32"]]) {
      if (l[key]) encoded[name][key] = ref(l[key], dtype);
    }
  }
  const header = { kind: "map_update", version: 2, iteration, full, layers: encoded, texts };
  if (full) {
    const { classes, minority, traces, layout } = structuredClone(example.header);
    Object.assign(header, { classes, minority, traces, layout });
  }
  return { header, buffers };
}
