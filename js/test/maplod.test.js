import { describe, expect, it } from "vitest";
import { DRAW_LIMIT, detailPlan, indicesInView, pointsInPolygon, sameIndices, sampleNote, seededSample, viewBounds } from "../src/maplod.js";
import { screenTransform } from "../src/mapscene.js";

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe("the seeded sample", () => {
  it("draws k distinct indices in ascending order, the same every time", () => {
    const a = seededSample(1000, 100, 0);
    expect(a.length).toBe(100);
    expect(new Set(a).size).toBe(100);
    expect([...a]).toEqual([...a].sort((p, q) => p - q));
    expect(a.every((i) => i >= 0 && i < 1000)).toBe(true);
    expect([...seededSample(1000, 100, 0)]).toEqual([...a]);
    expect([...seededSample(1000, 100, 1)]).not.toEqual([...a]);
  });

  it("spreads over the whole range", () => {
    const a = seededSample(100_000, 10_000, 0);
    const firstHalf = a.filter((i) => i < 50_000).length;
    expect(firstHalf).toBeGreaterThan(4_700);
    expect(firstHalf).toBeLessThan(5_300);
  });

  it("is every index when k is not below n, and refuses bad sizes", () => {
    expect([...seededSample(4, 10)]).toEqual([0, 1, 2, 3]);
    expect(() => seededSample(10, -1)).toThrow(/non-negative/);
    expect(() => seededSample(1.5, 1)).toThrow(/whole/);
  });
});

describe("the points in view", () => {
  it("inverts the screen transform: the view's corners land on the screen's", () => {
    const zoomed = [4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1, 0, 0.5, -1, 0, 1];
    const box = viewBounds(zoomed, 400, 200);
    const at = screenTransform(zoomed, 400, 200);
    const [l, t] = at(box.x0, box.y1);
    const [r, b] = at(box.x1, box.y0);
    expect(l).toBeCloseTo(0, 6);
    expect(t).toBeCloseTo(0, 6);
    expect(r).toBeCloseTo(400, 6);
    expect(b).toBeCloseTo(200, 6);
  });

  it("widens the view by the margin on each side", () => {
    const box = viewBounds(IDENTITY, 200, 200, 1, 0.25);
    expect(box).toEqual({ x0: -1.5, x1: 1.5, y0: -1.5, y1: 1.5 });
  });

  it("keeps the points inside the rectangle, and gives up past the limit", () => {
    const x = Float32Array.from([0, 0.5, 2, -0.9, 0.1]);
    const y = Float32Array.from([0, 0.5, 0, -0.9, 3]);
    const box = { x0: -1, x1: 1, y0: -1, y1: 1 };
    expect([...(indicesInView(x, y, box) ?? [])]).toEqual([0, 1, 3]);
    expect(indicesInView(x, y, box, 2)).toBeNull();
    expect([...(indicesInView(x, y, box, 3) ?? [])]).toEqual([0, 1, 3]);
  });

  it("draws everything when the pool fits, the points in view when they fit, else the sample", () => {
    const sample = Int32Array.from([1, 5]);
    expect(detailPlan(10, null, sample, 20)).toEqual({ indices: null, sampled: false });
    const inView = Int32Array.from([2, 3, 4]);
    expect(detailPlan(100, inView, sample, 20)).toEqual({ indices: inView, sampled: false });
    expect(detailPlan(100, null, sample, 20)).toEqual({ indices: sample, sampled: true });
    expect(DRAW_LIMIT).toBeGreaterThan(0);
  });

  it("words the corner note", () => {
    expect(sampleNote(150_000, 1_000_000)).toBe("showing 150,000 of 1,000,000: zoom in for every point");
  });
});

describe("the lasso over the whole pool", () => {
  it("selects the points inside a polygon, concave ones too", () => {
    // an L: the square [0, 2] x [0, 2] without its top right quarter
    const polygon = [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]];
    const x = Float32Array.from([0.5, 1.5, 1.5, 0.5, 3, -0.1]);
    const y = Float32Array.from([0.5, 0.5, 1.5, 1.5, 0.5, 1]);
    expect([...pointsInPolygon(x, y, polygon)]).toEqual([0, 1, 3]);
  });

  it("finds every point of a large seeded pool inside, drawn in the sample or not", () => {
    const n = 20_000;
    let s = 7;
    const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const x = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const y = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const circle = Array.from({ length: 64 }, (_, k) => [0.5 * Math.cos((2 * Math.PI * k) / 64), 0.5 * Math.sin((2 * Math.PI * k) / 64)]);
    const inside = new Set(pointsInPolygon(x, y, circle));
    for (let i = 0; i < n; i++) {
      const r = Math.hypot(x[i], y[i]);
      if (r < 0.49) expect(inside.has(i)).toBe(true);
      if (r > 0.5) expect(inside.has(i)).toBe(false);
    }
    const sample = new Set(seededSample(n, 2_000, 0));
    expect([...inside].filter((i) => !sample.has(i)).length).toBeGreaterThan(inside.size / 2);
  });

  it("selects nothing for fewer than three vertices, and names a bad vertex", () => {
    expect(pointsInPolygon([0], [0], [[0, 0], [1, 1]]).length).toBe(0);
    expect(() => pointsInPolygon([0], [0], [[0, 0], [1, NaN], [1, 0]])).toThrow(/vertex 1/);
  });
});

describe("the drawn indices", () => {
  it("are the same only with the same indices in the same order", () => {
    const a = Int32Array.from([1, 4, 9]);
    expect(sameIndices(a, Int32Array.from([1, 4, 9]))).toBe(true);
    expect(sameIndices(a, Int32Array.from([1, 4]))).toBe(false);
    expect(sameIndices(a, Int32Array.from([1, 9, 4]))).toBe(false);
    expect(sameIndices(new Int32Array(0), new Int32Array(0))).toBe(true);
  });
});
