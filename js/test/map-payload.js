// map_update messages for the tests, built as the kernel builds them.

/** A map_update message as the kernel builds it (plots.map_update_payload): header + buffers. */
export function payload({ full = true, iteration = 0, layers = {}, texts = {} } = {}) {
  /** @type {DataView[]} */
  const buffers = [];
  const ref = (/** @type {number[]} */ values, /** @type {"int32" | "float32"} */ dtype, shape = [values.length]) => {
    const array = dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values);
    // at an odd offset inside a larger buffer, as a comm may deliver it
    const host = new Uint8Array(array.byteLength + 3);
    host.set(new Uint8Array(array.buffer), 3);
    buffers.push(new DataView(host.buffer, 3, array.byteLength));
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
  const header = { kind: "map_update", version: 1, iteration, full, layers: encoded, texts };
  if (full) Object.assign(header, { classes: ["other", "eye"], minority: ["eye"], colours: { other: "#1f77b4", eye: "#d62728" }, symbols: ["diamond", "star"] });
  return { header, buffers };
}

export function firstMap() {
  return payload({
    layers: {
      pool: { ids: [0, 1, 2, 3, 4, 5], xy: [0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0] },
      subpool: { ids: [2, 3], xy: [2, 0, 3, 0], scores: [0.9, 0.4] },
      labelled: { ids: [0, 5], xy: [0, 0, 5, 0], classes: [0, 1], mode: "replace" },
      anchors: { ids: [0, 5], xy: [0, 0, 5, 0], classes: [0, 1] },
      batch: { ids: [2, 3], xy: [2, 0, 3, 0], anchor: [5, -1] },
    },
    texts: { 2: "Cataract <b>left</b>", 3: "Fracture" },
  });
}
