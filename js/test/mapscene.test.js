import { describe, expect, it } from "vitest";
import { applyMapUpdate, emptyMap, positionOf } from "../src/mapdata.js";
import { colourAt, frameOf, hoverHead, idsOfPoints, legendEntries, normalise, overlayHit, overlayLayers, poolStyle, screenTransform } from "../src/mapscene.js";
import { example, firstMap } from "./map-payload.js";

const mapOf = () => {
  const { header, buffers } = firstMap();
  return applyMapUpdate(emptyMap(), header, buffers);
};
const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe("frame and normalised coordinates", () => {
  it("fits every point in [-1, 1] with one scale for both axes", () => {
    const xy = Float32Array.from([0, 0, 10, 2, 4, -2]);
    const frame = frameOf(xy);
    const { x, y } = normalise(xy, frame);
    expect(Math.max(...x.map(Math.abs), ...y.map(Math.abs))).toBeCloseTo(0.9);
    // one scale: the x extent (10) ends at the edge, the y extent (4) in proportion
    expect(x[1] - x[0]).toBeCloseTo(1.8);
    expect(y[1] - y[2]).toBeCloseTo(1.8 * 4 / 10);
  });

  it("ignores points without a position, and a single point is the centre", () => {
    expect(frameOf(Float32Array.from([NaN, 1, 3, 3]))).toMatchObject({ cx: 3, cy: 3 });
    expect(frameOf(new Float32Array(0))).toEqual({ cx: 0, cy: 0, scale: 1 });
  });
});

describe("overlayLayers", () => {
  it("draws the declared layers above the pool in the declared order, the anchors above the batch", () => {
    const state = mapOf();
    const layers = overlayLayers(state, frameOf(state.layers.pool.xy), { highlight: [2, 5], position: (id) => positionOf(state, id) });
    const uids = layers.map((l) => l.uid);
    expect(uids).toEqual(["subpool", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1", "highlight"]);
    expect(uids.indexOf("anchors-1")).toBeGreaterThan(uids.indexOf("batch"));
  });

  it("holds the points Python puts in each trace of the same message (js/test/map-example.json)", () => {
    const state = mapOf();
    const layers = overlayLayers(state, frameOf(state.layers.pool.xy), { highlight: example.highlight, position: (id) => positionOf(state, id) });
    for (const layer of layers) {
      const python = example.traces.find((t) => t.uid === layer.uid);
      expect(layer.ids, layer.uid).toEqual(python.customdata);
      const frame = frameOf(state.layers.pool.xy);
      expect(Array.from(layer.x, (v) => v / frame.scale + frame.cx)).toEqual(python.x.map((v) => expect.closeTo(v, 5)));
    }
  });

  it("takes every style from the declaration: colour, size, symbol, line, score colours", () => {
    const state = mapOf();
    const layers = overlayLayers(state, frameOf(state.layers.pool.xy));
    const decl = (uid) => state.traces.find((d) => d.trace.uid === uid).trace.marker;
    const anchors = layers.find((l) => l.uid === "anchors-1");
    expect(anchors).toMatchObject({ symbol: decl("anchors-1").symbol, size: decl("anchors-1").size, lineWidth: decl("anchors-1").line.width });
    expect(anchors.colours).toEqual([decl("anchors-1").color]);
    const subpool = layers.find((l) => l.uid === "subpool");
    const scale = decl("subpool").colorscale;
    // the highest score gets the top of the declared scale, the lowest its bottom
    expect(subpool.colours).toEqual([scale.at(-1)[1], scale[0][1]]);
  });

  it("leaves out hidden layers and draws what a changed declaration says", () => {
    const state = mapOf();
    const traces = state.traces.map((d) => (d.layer === "batch" ? { ...d, trace: { ...d.trace, marker: { size: 40, color: "#123456" } } } : d));
    const layers = overlayLayers({ ...state, traces }, frameOf(state.layers.pool.xy), { hidden: new Set(["subpool"]) });
    expect(layers.map((l) => l.uid)).not.toContain("subpool");
    expect(layers.find((l) => l.uid === "batch")).toMatchObject({ size: 40, colours: ["#123456", "#123456"] });
  });
});

describe("hover, legend, pool style", () => {
  it("words a point's hover line as the declaration (and Python) does", () => {
    const state = mapOf();
    for (const uid of ["subpool", "labelled-1", "batch", "anchors-0"]) {
      const decl = state.traces.find((d) => d.trace.uid === uid);
      const layer = state.layers[decl.layer];
      const python = example.traces.find((t) => t.uid === uid);
      python.customdata.forEach((id, n) => {
        const row = layer.ids.indexOf(id);
        const value = layer.values ? Number(layer.values[row]) : null;
        expect(hoverHead(decl, id, value)).toBe(python.hovertext[n].split("<br>")[0]);
      });
    }
  });

  it("lists the legend's layers in order, without the highlight and the selection", () => {
    const entries = legendEntries(mapOf().traces);
    expect(entries.map((e) => e.uid)).toEqual(["pool", "subpool", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1"]);
    expect(entries.find((e) => e.uid === "subpool").scale).not.toBeNull();
  });

  it("the pool is shaded by density, in its declared colour, selections in the declared colour", () => {
    const traces = mapOf().traces;
    const pool = traces.find((d) => d.layer === "pool");
    const style = poolStyle(traces);
    expect(style).toMatchObject({ pointColor: pool.trace.marker.color, pointSize: pool.trace.marker.size, opacityBy: "density" });
    expect(style.pointColorActive).toBe(traces.find((d) => d.layer === "selection").trace.marker.color);
    expect(() => poolStyle(traces.filter((d) => d.layer !== "pool"))).toThrow(/no pool/);
  });

  it("interpolates a colour scale and clamps outside it", () => {
    const scale = [[0, "#000000"], [0.5, "#ff0000"], [1, "#ffffff"]];
    expect(colourAt(scale, 0.25)).toBe("#800000");
    expect(colourAt(scale, 0.75)).toBe("#ff8080");
    expect(colourAt(scale, -3)).toBe("#000000");
    expect(colourAt(scale, 9)).toBe("#ffffff");
  });
});

describe("screen positions and picking", () => {
  it("maps normalised points to pixels as the camera's view matrix says", () => {
    const at = screenTransform(IDENTITY, 400, 200);
    expect(at(0, 0)).toEqual([200, 100]);
    expect(at(0, 1)).toEqual([200, 0]); // y up
    expect(at(1, 0)).toEqual([300, 100]); // x scaled by height / width: square data stays square
    const zoomed = [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0.5, 0, 0, 1]; // zoom 2, pan right
    expect(screenTransform(zoomed, 400, 200)(0, 0)).toEqual([250, 100]);
  });

  it("finds the topmost overlay point under the pointer, never the highlight's rings", () => {
    const state = mapOf();
    const frame = frameOf(state.layers.pool.xy);
    const layers = overlayLayers(state, frame, { highlight: [2], position: (id) => positionOf(state, id) });
    const at = screenTransform(IDENTITY, 400, 400);
    const [px, py] = at((2 - frame.cx) * frame.scale, (0 - frame.cy) * frame.scale);
    expect(overlayHit(layers, at, px, py)).toEqual({ uid: "batch", id: 2 }); // above the subpool
    expect(overlayHit(layers, at, px + 200, py + 200)).toBeNull();
  });

  it("turns the scatterplot's point indices into pool ids", () => {
    expect(idsOfPoints(Int32Array.from([10, 11, 12, 13]), [3, 0])).toEqual([10, 13]);
    expect(() => idsOfPoints(Int32Array.from([1]), [4])).toThrow(/no point 4/);
  });
});
