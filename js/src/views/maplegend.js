// The map's legend: a button per declared layer that asks for one, with the layer's symbol and
// colour (or colour scale), turning it off and on; and the switch between panning and lassoing.
import { h, replace } from "../dom.js";
import { legendEntries } from "../mapscene.js";
import { glyphOf } from "../markers.js";

/**
 * @param {{
 *   traces: () => import("../mapdata.js").Declaration[],
 *   poolCanvas: HTMLCanvasElement,
 *   onToggle: () => void,
 *   onLasso: (on: boolean) => void,
 * }} ctx `onToggle`: a layer was turned off or on; `onLasso`: the mouse lassoes (or pans)
 */
export function mapLegend({ traces, poolCanvas, onToggle, onLasso }) {
  const el = h("div", { class: "aw-map-legend", role: "group", "aria-label": "map layers" });
  /** @type {Set<string>} uids of the layers the legend has turned off */
  const hidden = new Set();

  const poolUid = () => traces().find((d) => d.layer === "pool")?.trace.uid;

  function draw() {
    const entries = legendEntries(traces()).map((entry) => {
      const swatch = h("span", { class: "aw-map-swatch", "aria-hidden": "true" }, glyphOf(entry.symbol));
      swatch.style.color = entry.colour;
      if (entry.scale) swatch.style.background = `linear-gradient(90deg, ${entry.scale.map(([t, c]) => `${c} ${t * 100}%`).join(", ")})`;
      return h("button", {
        type: "button", class: "aw-map-layer", dataset: { uid: entry.uid }, "aria-pressed": String(!hidden.has(entry.uid)),
        onclick: () => toggle(entry.uid),
      }, swatch, entry.name);
    });
    const lasso = h("button", {
      type: "button", class: "aw-map-lasso", title: "draw around points to select them (or shift + drag)",
      "aria-pressed": "false", onclick: () => setLasso(lasso.getAttribute("aria-pressed") !== "true"),
    }, "lasso");
    replace(el, ...entries, lasso);
  }

  /** Turn a layer on or off. @param {string} uid */
  function toggle(uid) {
    if (hidden.has(uid)) hidden.delete(uid);
    else hidden.add(uid);
    el.querySelector(`button[data-uid="${uid}"]`)?.setAttribute("aria-pressed", String(!hidden.has(uid)));
    // the pool's canvas turns see-through but keeps the pointer: pan, zoom and lasso still work
    if (uid === poolUid()) poolCanvas.style.opacity = hidden.has(uid) ? "0" : "";
    onToggle();
  }

  /** @param {boolean} on */
  function setLasso(on) {
    el.querySelector(".aw-map-lasso")?.setAttribute("aria-pressed", String(on));
    onLasso(on);
  }

  return { el, hidden, draw };
}
