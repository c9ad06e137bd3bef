// How each marker symbol the kernel declares (plotly's names: views/styles.py) is drawn on the
// map's 2-D canvas, and the character that stands for it in the legend. Shapes only: every
// colour, size and line width comes from the declaration.

/** @type {Record<string, string>} */
const GLYPHS = { star: "★", "circle-open": "○", x: "✕" };

/** The legend's character for a declared symbol (a filled circle for any other). */
export const glyphOf = (/** @type {string} */ symbol) => GLYPHS[symbol] ?? "●";

/**
 * One marker, as declared: a filled circle, an open circle (its line in the marker's colour),
 * a five-pointed star or a cross; outlined when the declaration gives a line.
 * @param {CanvasRenderingContext2D} ctx @param {import("./mapscene.js").OverlayLayer} layer
 * @param {number} x @param {number} y @param {string} colour
 */
export function drawMarker(ctx, layer, x, y, colour) {
  const r = layer.size / 2;
  ctx.globalAlpha = layer.opacity;
  ctx.beginPath();
  if (layer.symbol === "star") {
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + (k * Math.PI) / 5;
      const rr = k % 2 ? r * 0.45 : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
  } else if (layer.symbol === "x") {
    ctx.moveTo(x - r, y - r);
    ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r);
    ctx.lineTo(x - r, y + r);
  } else {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
  if (layer.symbol === "circle-open" || layer.symbol === "x") {
    ctx.strokeStyle = colour;
    ctx.lineWidth = Math.max(1, layer.lineWidth);
    ctx.stroke();
  } else {
    ctx.fillStyle = colour;
    ctx.fill();
    if (layer.lineWidth > 0 && layer.lineColour) {
      ctx.strokeStyle = layer.lineColour;
      ctx.lineWidth = layer.lineWidth;
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
}
