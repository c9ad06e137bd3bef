// The live curves (plotly, four panels): minority share of the labelled set and of the subpool,
// minority and majority F1 (dashed, and titled as an estimate, when cross-validated on the
// labelled set), waiting time per iteration by stage, labels per class. Drawn from the
// `curves` trait, which the kernel updates after every batch. The top margin leaves room for
// plotly's toolbar above the panels' titles: it sits in the plot's top right corner, over the
// F1 panel's title otherwise.
import { h } from "../dom.js";
import { curvesFigure } from "../mapdata.js";
import { listen } from "../model.js";

/** plotly's basic partial bundle (scatter and bar: what the curves draw), loaded on first use */
export const loadPlotly = () => import("plotly.js-basic-dist-min").then((m) => m.default ?? m);

/** Pixels above the panels' titles: plotly's toolbar is about 30 px high. */
export const TOOLBAR_ROOM = 56;

/** @param {{model: import("../model.js").AnyModel, plotly?: () => Promise<any>}} ctx */
export function curvesView({ model, plotly = loadPlotly }) {
  /** @type {any} */
  let Plotly = null;
  let alive = true;
  let drawn = false;
  const plot = h("div", { class: "aw-curves-plot" });
  const el = h("div", { class: "aw-curves-view", hidden: true }, plot);

  async function draw() {
    const curves = model.get("curves");
    const points = curves?.traces?.[0]?.x?.length ?? 0;
    el.hidden = !curves?.traces?.length;
    if (el.hidden) return;
    el.dataset.points = String(points);
    el.dataset.estimate = String(Boolean(curves.estimate));
    if (!Plotly) Plotly = await plotly();
    if (!alive) return;
    const { data, layout } = curvesFigure(curves);
    const margin = { ...layout.margin, t: Math.max(layout.margin?.t ?? 0, TOOLBAR_ROOM) };
    await Plotly.react(plot, data, { ...layout, margin }, { displaylogo: false, responsive: true });
    drawn = true;
  }

  const stop = listen(model, ["curves"], draw);
  draw();
  return {
    el,
    destroy() {
      alive = false;
      stop();
      if (Plotly && drawn) Plotly.purge(plot);
    },
  };
}
