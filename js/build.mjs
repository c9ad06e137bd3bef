// Bundle src/widget.js (and its CSS) into ../anchoral_widget/static/, which is git-ignored and
// built at package build time (hatch-jupyter-builder runs `npm install && npm run build` here).
import * as esbuild from "esbuild";

const options = {
  entryPoints: ["src/widget.js"],
  bundle: true,
  format: "esm",
  target: "es2020",
  outdir: "../anchoral_widget/static",
  // plotly's basic bundle (the curves) and regl-scatterplot (the map) are most of the bundle:
  // minified, 1.3 MB in all (4.6 MB when the map drew with the full plotly.js)
  minify: true,
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
