import { describe, expect, it } from "vitest";
import { mapLasso } from "../src/maplasso.js";

/** A pool of five points on a line (x = 0..4, y = 0), pool ids 10..14, with a scatterplot that records its calls. */
function setup({ sampled = false, hovered = undefined } = {}) {
  const calls = [];
  const plotter = {
    select: (points) => calls.push(["select", points]),
    deselect: () => calls.push(["deselect"]),
  };
  const pool = {
    plotter,
    drawn: { ids: Int32Array.from([10, 11, 12, 13, 14]), xy: new Float32Array(10), values: null },
    xy: { x: Float32Array.from([0, 1, 2, 3, 4]), y: new Float32Array(5) },
  };
  const changes = [];
  const picks = [];
  const lasso = mapLasso({
    pool, sampled: () => sampled, clicked: () => hovered, pick: (id) => picks.push(id), onChange: (ids) => changes.push(ids),
  });
  return { lasso, pool, calls, changes, picks };
}

describe("the map's lasso", () => {
  it("selects the pool ids of the points the scatterplot lassoed, in order of id", () => {
    const { lasso, changes, picks } = setup();
    lasso.start();
    lasso.select([3, 0, 1]);
    lasso.end(undefined);
    expect(changes).toEqual([[10, 11, 13]]);
    expect(lasso.points).toEqual([3, 0, 1]);
    expect(picks).toEqual([]);
  });

  it("keeps its selection when the scatterplot takes the lasso's closing for a click", () => {
    const { lasso, calls, changes, picks } = setup();
    lasso.start();
    lasso.select([2, 4]);
    lasso.end(undefined);
    lasso.select([2]); // the mouse-up, right after the end
    expect(calls).toEqual([["select", [2, 4]]]);
    expect(changes).toEqual([[12, 14]]);
    expect(picks).toEqual([]);
  });

  it("with a sample drawn, selects every pool point inside the polygon, drawn or not", () => {
    const { lasso, calls, changes } = setup({ sampled: true });
    lasso.start();
    lasso.select([1]); // the scatterplot knows only the drawn points: left to the lasso's end
    expect(changes).toEqual([]);
    lasso.end([[0.5, -1], [3.5, -1], [3.5, 1], [0.5, 1]]);
    expect(changes).toEqual([[11, 12, 13]]);
    expect(calls).toEqual([["select", [1, 2, 3]]]);
    expect(lasso.points).toEqual([1, 2, 3]);
  });

  it("takes a click for a pick, dropping the selection; the labelled point under the pointer answers first", () => {
    const { lasso, calls, changes, picks } = setup({ hovered: 42 });
    lasso.start();
    lasso.select([0]);
    lasso.end(undefined);
    expect(changes).toEqual([[10]]);
    lasso.clear();
    expect(changes).toEqual([[10], []]);
    lasso.select([3]);
    expect(picks).toEqual([42]);
    expect(calls.at(-1)).toEqual(["deselect"]);
    const plain = setup();
    plain.lasso.select([3]);
    expect(plain.picks).toEqual([13]);
    expect(plain.changes).toEqual([]); // nothing was selected: no []
  });

  it("drops an empty selection once, and nothing before a pool is drawn", () => {
    const { lasso, pool, changes, picks } = setup();
    lasso.deselect();
    expect(changes).toEqual([]);
    lasso.start();
    lasso.select([1]);
    lasso.deselect();
    lasso.deselect();
    expect(changes).toEqual([[11], []]);
    expect(lasso.points).toEqual([]);
    pool.drawn = null;
    lasso.select([1]);
    lasso.start();
    lasso.end([[0, 0], [1, 0], [1, 1]]);
    expect(changes).toHaveLength(2);
    expect(picks).toEqual([]);
  });

  it("forgets its selection when a new pool is drawn, without reporting it", () => {
    const { lasso, changes } = setup();
    lasso.start();
    lasso.select([1, 2]);
    lasso.reset();
    expect(lasso.points).toEqual([]);
    lasso.deselect(); // nothing selected any more: no []
    expect(changes).toEqual([[11, 12]]);
  });
});
