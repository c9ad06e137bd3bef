import { describe, expect, it } from "vitest";
import { drawMarker, glyphOf } from "../src/markers.js";

/** A 2-D context that records what is drawn. */
function recorder() {
  const calls = [];
  const ctx = new Proxy({ calls }, {
    get: (target, name) => (name in target ? target[name] : (...args) => calls.push([name, ...args])),
    set: (target, name, value) => (calls.push([`=${String(name)}`, value]), true),
  });
  return ctx;
}
const layer = (marker) => ({ uid: "x", name: "x", size: 10, opacity: 1, lineWidth: 0, lineColour: null, ids: [1], x: new Float32Array(1), y: new Float32Array(1), colours: ["#123456"], ...marker });

describe("drawMarker", () => {
  it("a star: ten corners, filled in the point's colour, outlined as declared", () => {
    const ctx = recorder();
    drawMarker(ctx, layer({ symbol: "star", lineWidth: 2, lineColour: "#000000" }), 5, 5, "#d62728");
    expect(ctx.calls.filter(([n]) => n === "lineTo").length).toBe(10);
    expect(ctx.calls).toContainEqual(["=fillStyle", "#d62728"]);
    expect(ctx.calls).toContainEqual(["=strokeStyle", "#000000"]);
    expect(ctx.calls).toContainEqual(["=lineWidth", 2]);
  });

  it("an open circle: a ring in the point's colour, nothing filled", () => {
    const ctx = recorder();
    drawMarker(ctx, layer({ symbol: "circle-open", lineWidth: 3 }), 5, 5, "#e6007e");
    expect(ctx.calls).toContainEqual(["arc", 5, 5, 5, 0, 2 * Math.PI]);
    expect(ctx.calls).toContainEqual(["=strokeStyle", "#e6007e"]);
    expect(ctx.calls.some(([n]) => n === "fill")).toBe(false);
  });

  it("anything else: a filled circle at the declared opacity, then opacity back to 1", () => {
    const ctx = recorder();
    drawMarker(ctx, layer({ symbol: "", opacity: 0.55 }), 1, 2, "#1f77b4");
    expect(ctx.calls).toContainEqual(["=globalAlpha", 0.55]);
    expect(ctx.calls.some(([n]) => n === "fill")).toBe(true);
    expect(ctx.calls.at(-1)).toEqual(["=globalAlpha", 1]);
  });

  it("the legend's glyphs", () => {
    expect([glyphOf("star"), glyphOf("circle-open"), glyphOf("")]).toEqual(["★", "○", "●"]);
  });
});
