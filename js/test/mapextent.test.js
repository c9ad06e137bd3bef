import { describe, expect, it } from "vitest";
import { MIN_SPAN, PAD, focusArea } from "../src/mapextent.js";

const frame = { cx: 10, cy: 20, scale: 0.1 }; // data (10, 20) is the centre; 1 data unit = 0.1

describe("the area the map opens on", () => {
  it("holds every labelled and batch point with a margin, centred on them", () => {
    const labelled = new Float32Array([10, 20, 14, 20]); // normalised (0, 0), (0.4, 0)
    const batch = new Float32Array([12, 24, NaN, NaN]); // (0.2, 0.4); a point with no place is left out
    const area = focusArea([labelled, batch], frame);
    const side = 0.4 * (1 + 2 * PAD);
    expect(area.width).toBeCloseTo(side, 6);
    expect(area.height).toBeCloseTo(side, 6);
    expect(area.x + area.width / 2).toBeCloseTo(0.2, 6);
    expect(area.y + area.height / 2).toBeCloseTo(0.2, 6);
  });

  it("keeps the pool around a tight cluster, and never opens wider than the pool", () => {
    const tight = focusArea([new Float32Array([10, 20, 10.01, 20])], frame);
    expect(tight.width).toBe(MIN_SPAN);
    const spread = focusArea([new Float32Array([-20, 20, 40, 20])], frame);
    expect(spread.width).toBe(2);
  });

  it("gives nothing to open on with fewer than two points", () => {
    expect(focusArea([new Float32Array([10, 20])], frame)).toBeNull();
    expect(focusArea([], frame)).toBeNull();
  });
});
