// The page benchmarks/map_render.py loads in headless Chromium: draws n seeded clustered points
// with one renderer and pans the view frame by frame, timing each frame. regl-scatterplot runs
// zoomed out or zoomed in on a cluster, drawing every point or with the widget's level of
// detail (js/src/maplod.js: a seeded sample zoomed out, the points near the view zoomed in).
import createScatterplot from "regl-scatterplot";
import { DRAW_LIMIT, detailPlan, indicesInView, seededSample, viewBounds } from "../../js/src/maplod.js";

/** n points in 50 Gaussian clusters, from a seeded generator (mulberry32). */
function points(n) {
  let s = 12345;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const centres = Array.from({ length: 50 }, () => [rand() * 1.6 - 0.8, rand() * 1.6 - 0.8]);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = centres[i % 50];
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * 0.05;
    const a = 2 * Math.PI * rand();
    x[i] = c[0] + r * Math.cos(a);
    y[i] = c[1] + r * Math.sin(a);
  }
  return { x, y, centres };
}

const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));

/** Frame times (ms) of `frames` pan steps: `step(k)` moves the view, then the next frame paints. */
async function pan(frames, step) {
  const times = [];
  let last = await frame();
  for (let k = 0; k < frames; k++) {
    await step(k);
    const now = await frame();
    times.push(now - last);
    last = now;
  }
  return times;
}

function canvas() {
  document.body.replaceChildren();
  const el = document.createElement("div");
  el.style.cssText = "width:800px;height:600px;position:relative";
  document.body.append(el);
  return el;
}

/** Distance of the zoomed-in camera: a view about a twentieth of the map's width. */
const ZOOMED_IN = 0.1;

/**
 * @param {number} n @param {number} frames
 * @param {{zoomed?: boolean, detail?: boolean}} [how] zoomed in on a cluster; with the level of detail
 */
window.benchRegl = async (n, frames, { zoomed = false, detail = false } = {}) => {
  const el = canvas();
  const c = document.createElement("canvas");
  c.style.cssText = "width:800px;height:600px";
  el.append(c);
  const data = points(n);
  const t0 = performance.now();
  const sp = createScatterplot({ canvas: c, width: 800, height: 600, pointSize: 3, opacityBy: "density", pointColor: "#9e9e9e" });
  await sp.draw({ x: data.x, y: data.y });
  window.scatterplot = sp; // for a look from the console
  if (zoomed) await sp.zoomToLocation(data.centres[0], ZOOMED_IN);
  let drawn = n;
  if (detail) {
    // as the widget's map view does once the camera stops
    const box = viewBounds(sp.get("cameraView"), 800, 600, sp.get("aspectRatio") ?? 1, 0.25);
    const plan = detailPlan(n, indicesInView(data.x, data.y, box, DRAW_LIMIT), seededSample(n, Math.min(n, DRAW_LIMIT), 0));
    if (plan.indices) await sp.filter(Array.from(plan.indices), { preventEvent: true });
    drawn = plan.indices ? plan.indices.length : n;
  }
  await frame();
  const drawMs = performance.now() - t0;
  const camera = sp.get("camera");
  const step = zoomed ? 0.01 * ZOOMED_IN : 0.01;
  const times = await pan(frames, (k) => {
    camera.pan([k % 2 ? -step : step, step / 2]);
    sp.redraw();
  });
  return { drawMs, times, drawn };
};

window.benchPlotly = async (n, frames) => {
  const el = canvas();
  const data = points(n);
  const t0 = performance.now();
  await window.Plotly.newPlot(el, [{ type: "scattergl", mode: "markers", x: data.x, y: data.y, marker: { size: 3, color: "#9e9e9e", opacity: 0.25 } }], { width: 800, height: 600, xaxis: { range: [-1, 1] }, yaxis: { range: [-1, 1] }, margin: { l: 0, r: 0, t: 0, b: 0 } });
  await frame();
  const drawMs = performance.now() - t0;
  const times = await pan(frames, (k) => {
    const d = (k % 2 ? -1 : 1) * 0.01 * (k + 1);
    return window.Plotly.relayout(el, { "xaxis.range": [-1 + d, 1 + d], "yaxis.range": [-1 + d / 2, 1 + d / 2] });
  });
  return { drawMs, times, drawn: el._fullData[0]._length ?? n };
};
