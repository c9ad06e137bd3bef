"""The map's renderer, measured in headless Chromium (Debian's chromium via Playwright, as
tests/browser does): regl-scatterplot (the widget's) against plotly's WebGL partial bundle
(``plotly.js-gl2d-dist-min``, scattergl), side by side in one run, at 100k and 1M points; and
regl-scatterplot drawing every point against the widget's level of detail (js/src/maplod.js: a
seeded sample of at most ``DRAW_LIMIT`` points zoomed out, the points near the view zoomed in),
zoomed out and zoomed in on a cluster.

For each renderer and size, in a fresh page: the time to the first drawn frame, the frame times
while panning (30 steps, each a camera move and the next painted frame), the page's JS heap
after drawing (Chromium's ``Performance.getMetrics``) and the resident memory of the browser's
processes; and the bytes each renderer adds to a bundle. Headless Chromium has no GPU here: WebGL
runs on SwiftShader (the CPU), so frame times are an upper bound of what a desktop shows.

    .venv/bin/python benchmarks/map_render.py                 # 100k and 1M
    .venv/bin/python benchmarks/map_render.py --sizes 100000

Writes ``benchmarks/results/map_render.md``. Needs ``npm --prefix js ci`` (for esbuild and the
renderers) and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
HARNESS = Path(__file__).resolve().parent / "map_render" / "harness.js"
GL2D = JS / "node_modules" / "plotly.js-gl2d-dist-min" / "plotly-gl2d.min.js"
#: bytes of anchoral_widget/static/widget.js built from the release before (full plotly.js)
BUNDLE_BEFORE = 4_873_792
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--no-first-run"]


def build(out: Path) -> dict:
    """Bundle the harness (with regl-scatterplot) and write the page; bytes of each renderer."""
    bundle = out / "harness.js"
    subprocess.run(
        [
            str(JS / "node_modules" / ".bin" / "esbuild"),
            str(HARNESS),
            "--bundle",
            "--minify",
            "--format=iife",
            f"--outfile={bundle}",
        ],
        check=True,
        cwd=JS,
        capture_output=True,
        env={**os.environ, "NODE_PATH": str(JS / "node_modules")},  # the harness lives outside js/
    )
    shutil.copy(GL2D, out / "plotly-gl2d.min.js")
    (out / "index.html").write_text(
        '<!doctype html><meta charset="utf-8"><body></body>'
        '<script src="plotly-gl2d.min.js"></script><script src="harness.js"></script>'
    )
    return {"regl-scatterplot": bundle.stat().st_size, "plotly gl2d": GL2D.stat().st_size}


def widget_bundle(out: Path) -> int:
    """Bytes of the widget's bundle as `npm run build` makes it (minified), built here afresh."""
    subprocess.run(
        [
            str(JS / "node_modules" / ".bin" / "esbuild"),
            "src/widget.js",
            "--bundle",
            "--minify",
            "--format=esm",
            f"--outdir={out}",
        ],
        check=True,
        cwd=JS,
        capture_output=True,
    )
    return (out / "widget.js").stat().st_size


def browser_rss(pid: int) -> int:
    import psutil

    parent = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])


#: (renderer, zoomed in, level of detail) of each run, in the table's order
RUNS = [
    ("regl-scatterplot", False, False),
    ("regl-scatterplot", False, True),
    ("regl-scatterplot", True, False),
    ("regl-scatterplot", True, True),
    ("plotly gl2d", False, False),
]


def run(page_url: str, chromium: str, renderer: str, n: int, frames: int, zoomed: bool, detail: bool) -> dict:
    import psutil
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        before = {c.pid for c in psutil.Process().children(recursive=True)}
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pid = next(
            c.pid for c in psutil.Process().children(recursive=True) if c.pid not in before and "chrom" in c.name()
        )
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto(page_url)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        fn = "benchRegl" if renderer == "regl-scatterplot" else "benchPlotly"
        t = time.perf_counter()
        result = page.evaluate(
            f"([n, f, how]) => window.{fn}(n, f, how)", [n, frames, {"zoomed": zoomed, "detail": detail}]
        )
        wall = time.perf_counter() - t
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        rss = browser_rss(pid)
        browser.close()
    times = np.asarray(result["times"][5:])  # the first frames settle the pipeline
    return {
        "draw_s": result["drawMs"] / 1000,
        "frame_ms_median": float(np.median(times)),
        "frame_ms_p95": float(np.percentile(times, 95)),
        "heap_mib": metrics["JSHeapUsedSize"] / 2**20,
        "rss_mib": rss / 2**20,
        "drawn": result["drawn"],
        "wall_s": wall,
    }


def draw_limit() -> int:
    """The level of detail's limit, read from js/src/maplod.js (one number, one place)."""
    import re

    text = (JS / "src" / "maplod.js").read_text()
    found = re.search(r"export const DRAW_LIMIT = ([\d_]+);", text)
    if not found:
        raise SystemExit("js/src/maplod.js has no DRAW_LIMIT")
    return int(found.group(1).replace("_", ""))


DRAW_LIMIT = draw_limit()


def detail_summary(results: dict) -> str:
    """Frame times with the level of detail against every point, per size and zoom, as measured."""
    lines = []
    for (n, zoomed), pair in sorted(results.items()):
        if set(pair) != {False, True}:
            continue
        every, lod = pair[False], pair[True]
        lines.append(
            f"- {n:,} points, zoomed {'in' if zoomed else 'out'}: {lod['frame_ms_median']:.0f} ms a frame "
            f"drawing {lod['drawn']:,} (level of detail) against {every['frame_ms_median']:.0f} ms drawing "
            f"every point ({every['frame_ms_median'] / lod['frame_ms_median']:.1f}x)."
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed: apt-get install -y chromium")
    rows = []
    by_detail: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        sizes = build(out)
        widget_bytes = widget_bundle(out / "widget")
        url = (out / "index.html").as_uri()
        for n in args.sizes:
            for renderer, zoomed, detail in RUNS:
                r = run(url, chromium, renderer, n, args.frames, zoomed, detail)
                print(renderer, n, zoomed, detail, r, flush=True)
                if renderer == "regl-scatterplot":
                    by_detail.setdefault((n, zoomed), {})[detail] = r
                rows.append(
                    [
                        renderer,
                        "in" if zoomed else "out",
                        "level of detail" if detail else "every point",
                        f"{n:,}",
                        f"{r['drawn']:,}",
                        r["draw_s"],
                        r["frame_ms_median"],
                        r["frame_ms_p95"],
                        r["heap_mib"],
                        r["rss_mib"],
                        sizes[renderer] / 2**20,
                    ]
                )
    table = markdown_table(
        [
            "renderer",
            "zoomed",
            "drawn as",
            "points",
            "drawn",
            "first frame (s)",
            "frame while panning, median (ms)",
            "p95 (ms)",
            "JS heap (MiB)",
            "browser RSS (MiB)",
            "bundle (MiB, minified)",
        ],
        rows,
    )
    print(table)
    info = machine()
    body = "\n".join(
        [
            "## The map's renderer in the browser: regl-scatterplot against plotly's WebGL bundle, "
            "and the level of detail",
            "",
            f"Headless Chromium (Debian's, `--disable-gpu`: WebGL on SwiftShader, the CPU), an 800x600 "
            f"plot, seeded clustered points, {args.frames} pan steps per run (the first 5 left out), "
            f"one fresh browser per run. Machine: {info.get('cpu', '?')}, {info.get('cores')} cores (shared). "
            f"Zoomed in: the camera on one cluster at distance 0.1 (a view about a twentieth of the map's width). "
            f"Level of detail: what the widget's map draws once the camera stops (js/src/maplod.js, "
            f"at most {DRAW_LIMIT:,} points: a seeded sample zoomed out, every point near the view zoomed in); "
            f"'drawn' is the points the scatterplot draws.",
            "",
            table,
            "",
            "Frame while panning, median, with the level of detail against every point (same run):",
            "",
            detail_summary(by_detail),
            "",
            "The widget's map draws with this level of detail: past the limit, a fixed seeded sample with the "
            "density shading and a note in the map's corner zoomed out; every pool point near the view once "
            "fewer than the limit are there, chosen 100 ms after the camera stops (never per frame). Hover and "
            "click answer for the drawn points; a lasso selects every pool point inside it, drawn or not "
            "(a point-in-polygon over the pool's coordinates). The limit was picked on an earlier sweep of "
            "the same script (pools of 100k and fewer, zoomed out): about 50 ms a frame with 30k points drawn, "
            "70-85 ms with 60k, 110-170 ms with 100k, 200 ms with 150k. A frame of a 1M pool costs more than "
            "the same number of points drawn from a 100k pool (compare the two zoomed-out level-of-detail "
            "rows): the scatterplot "
            "keeps every point in its buffers and state texture, filtered or not. So without a GPU the level "
            "of detail makes a 1M pool pan at several frames a second rather than about one: better, not a "
            "desktop's 60.",
            "",
            "Without a GPU, neither pans smoothly at 1M: each frame is drawn by the CPU (SwiftShader), "
            "and the frame times move with the machine's load (an earlier run of the same script: "
            "regl-scatterplot 1.4 s, plotly 5.6 s median at 1M). What this measures is the ratio, in one "
            "run: regl-scatterplot is the faster and the smaller, and it brings the lasso and the density "
            "shading. A desktop's GPU was not measured here.",
            "",
            "The widget draws the pool with regl-scatterplot (opacity by density, lasso built in) and "
            "the few points above it (subpool, labelled, batch, anchors) on a 2-D canvas over it. "
            "The curves stay on plotly, its basic partial bundle (scatter and bar, what they draw).",
            "",
            f"The widget's bundle (`npm run build`, minified): {widget_bytes / 2**20:.2f} MiB now; "
            f"{BUNDLE_BEFORE / 2**20:.2f} MiB with the full plotly.js for the map and the curves (the "
            "release before, built the same way).",
        ]
    )
    if not args.no_write:
        print(f"written {write_section('map_render', body)}")


if __name__ == "__main__":
    main()
