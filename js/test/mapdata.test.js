import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { anchorOf, applyMapUpdate, curvesFigure, decodeArray, emptyMap, escapeHover, positionOf } from "../src/mapdata.js";
import { example, firstMap, payload } from "./map-payload.js";


describe("decodeArray", () => {
  it("reads little-endian int32 and float32 from a DataView at any offset", () => {
    const { header, buffers } = firstMap();
    expect(Array.from(decodeArray(header.layers.subpool.scores, buffers))).toEqual([Float32Array.from([0.9])[0], Float32Array.from([0.4])[0]]);
    expect(Array.from(decodeArray(header.layers.batch.anchor, buffers))).toEqual([5, -1]);
  });

  it("refuses a buffer of the wrong size or a missing one", () => {
    const { header, buffers } = firstMap();
    expect(() => decodeArray({ ...header.layers.batch.ids, shape: [3] }, buffers)).toThrow(/bytes/);
    expect(() => decodeArray({ buffer: 99, dtype: "int32", shape: [1] }, buffers)).toThrow(/missing/);
  });
});

describe("applyMapUpdate", () => {
  it("a full message fills every layer, the classes and the hover texts", () => {
    const { header, buffers } = firstMap();
    const s = applyMapUpdate(emptyMap(), header, buffers);
    expect(Array.from(s.layers.pool.ids)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(s.layers.labelled.values)).toEqual([0, 1]);
    expect(s.classes).toEqual(["other", "eye"]);
    expect(s.texts.get(3)).toBe("Fracture");
    expect(positionOf(s, 3)).toEqual([3, 0]);
    expect(anchorOf(s, 2)).toBe(5);
    expect(anchorOf(s, 3)).toBeNull();
  });

  it("a delta replaces only the layers it carries and appends new labelled items once", () => {
    const { header, buffers } = firstMap();
    const s0 = applyMapUpdate(emptyMap(), header, buffers);
    const delta = payload({
      full: false, iteration: 1,
      layers: {
        batch: { ids: [1], xy: [1, 0], anchor: [0] },
        labelled: { ids: [2, 3, 5], xy: [2, 0, 3, 0, 5, 0], classes: [1, 0, 1], mode: "append" },
      },
    });
    const s1 = applyMapUpdate(s0, delta.header, delta.buffers);
    expect(s1.iteration).toBe(1);
    expect(Array.from(s1.layers.batch.ids)).toEqual([1]);
    expect(Array.from(s1.layers.labelled.ids)).toEqual([0, 5, 2, 3]); // 5 was there already
    expect(Array.from(s1.layers.labelled.values)).toEqual([0, 1, 1, 0]);
    expect(s1.layers.subpool).toBe(s0.layers.subpool); // unchanged, not copied
    expect(Array.from(s0.layers.batch.ids)).toEqual([2, 3]); // the old state is untouched
    expect(s1.texts.get(2)).toBe("Cataract <b>left</b>");
  });

  it("a full message after deltas starts again from nothing", () => {
    const first = firstMap();
    let s = applyMapUpdate(emptyMap(), first.header, first.buffers);
    const again = payload({ layers: { pool: { ids: [7], xy: [1, 1] } } });
    s = applyMapUpdate(s, again.header, again.buffers);
    expect(Array.from(s.layers.pool.ids)).toEqual([7]);
    expect(s.layers.batch.ids.length).toBe(0);
    expect(s.texts.size).toBe(0);
  });

  it("refuses what is not a map update, or a full one without its trace declarations", () => {
    expect(() => applyMapUpdate(emptyMap(), { kind: "map_text" }, [])).toThrow(/not a map update/);
    const { header, buffers } = firstMap();
    delete header.traces;
    expect(() => applyMapUpdate(emptyMap(), header, buffers)).toThrow(/declarations/);
  });

  it("keeps the declarations and layout until a message brings new ones", () => {
    const { header, buffers } = firstMap();
    const s0 = applyMapUpdate(emptyMap(), header, buffers);
    const delta = payload({ full: false, iteration: 1, layers: { batch: { ids: [1], xy: [1, 0], anchor: [0] } } });
    const s1 = applyMapUpdate(s0, delta.header, delta.buffers);
    expect(s1.traces).toBe(s0.traces);
    expect(s1.layout).toEqual(example.header.layout);
    const traces = s0.traces.map((d) => (d.layer === "subpool" ? { ...d, trace: { ...d.trace, name: "subpool" } } : d));
    const s2 = applyMapUpdate(s1, { ...delta.header, traces }, delta.buffers);
    expect(s2.traces.find((d) => d.trace.uid === "subpool").trace.name).toBe("subpool");
  });
});

describe("the map's front end chooses no style", () => {
  // Colours, symbols, renderers and colour scales of the map belong to views/styles.py: a
  // constant of that kind here would be a second vocabulary that drifts from the kernel's.
  const sources = ["../src/mapdata.js", "../src/mapscene.js", "../src/maplasso.js", "../src/mapstanding.js", "../src/maptexts.js", "../src/views/map.js", "../src/views/mapdetail.js", "../src/views/maplegend.js", "../src/views/mapoverlay.js", "../src/views/mappicked.js", "../src/views/mappool.js", "../src/views/maptooltip.js"].map((f) => [f, readFileSync(new URL(f, import.meta.url), "utf8")]);
  it.each(sources)("%s has no colour, marker symbol, trace type or colour scale of its own", (_, source) => {
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""); // comments may name them
    expect(code).not.toMatch(/#[0-9a-f]{3,8}\b|\b(rgba?|hsla?)\(/i);
    expect(code).not.toMatch(/["'`](circle|star|diamond|square|cross|triangle|pentagon|hexagram|hourglass|bowtie)(-[a-z]+)*["'`]/);
    expect(code).not.toMatch(/["'`](scatter|scattergl)["'`]/);
    expect(code).not.toMatch(/Viridis|colorscale\s*:|symbol:\s*["'`]|color:\s*["'`]/);
  });
});

describe("curvesFigure", () => {
  it("puts each trace on its panel's axes and hides series without points from the legend", () => {
    const { data, layout } = curvesFigure({
      traces: [
        { uid: "minority:labelled", panel: 0, x: [0, 1], y: [0.5, 0.4] },
        { uid: "f1:minority", panel: 1, x: [0, 1], y: [null, null] },
        { uid: "seconds:train", panel: 2, type: "bar", x: [0, 1], y: [0.1, 0.2] },
        { uid: "counts:0", panel: 3, x: [0, 1], y: [3, 10] },
      ],
      titles: ["a", "F1 (estimate: <cv>)", "c", "d"],
    });
    expect(data.map((t) => [t.xaxis, t.yaxis])).toEqual([["x", "y"], ["x2", "y2"], ["x3", "y3"], ["x4", "y4"]]);
    expect(data.map((t) => t.showlegend)).toEqual([true, false, true, true]);
    expect(data[0].panel).toBeUndefined();
    expect(layout.annotations[1].text).toBe("F1 (estimate: &lt;cv&gt;)");
    expect(layout.yaxis.range).toEqual([0, 1.02]);
  });

  it("keeps a trace the kernel left out of the legend out of it (the low end of a band)", () => {
    const { data } = curvesFigure({
      traces: [
        { uid: "rare:low", panel: 3, x: [0, 1], y: [5, 6], showlegend: false },
        { uid: "rare:high", panel: 3, x: [0, 1], y: [9, 10], fill: "tonexty" },
      ],
      titles: ["a", "b", "c", "d"],
    });
    expect(data.map((t) => t.showlegend)).toEqual([false, true]);
    expect(data[1].fill).toBe("tonexty");
  });
});
