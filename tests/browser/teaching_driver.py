"""Driving the teaching notebooks (02 and 03) in JupyterLab and reading what plotly drew.

A notebook is copied with a scratch cell, run whole and waited for; a cell's output is found by
its code. A plot is read as plotly laid it out (its size, traces in drawing order, titles' and
subplots' boxes, legends) and hovered as a mouse does, over the point with the most room around
it. Errors the page logs are kept in ``PAGE_ERRORS`` for the tests to check.
"""

from __future__ import annotations

from contextlib import contextmanager

from .lab_driver import copy_with_scratch_cell, front_end_own_error, open_notebook, run_all
from .servers import ROOT

#: Every code cell but the scratch one has run, and the kernel is idle.
ALL_RAN = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.widgets.slice(0, -1);
    const ran = cells.every(c => c.model.type !== 'code' || c.model.executionCount != null);
    return ran && panel.sessionContext.session?.kernel?.status === 'idle';
}"""
ERROR_OUTPUTS = '() => document.querySelectorAll(\'.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"] .jp-RenderedText, .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]\').length'

#: How plotly drew a plot: its size and its output area's, its traces in drawing order (name,
#: type, subplot, marker), its titles' boxes, its subplots' boxes.
DRAWN_JS = """(el) => {
    const gd = el.closest('.js-plotly-plot') || el;
    const box = gd.getBoundingClientRect();
    const out = gd.closest('.jp-OutputArea-output').getBoundingClientRect();
    const L = gd._fullLayout;
    const axis = (id) => L[id.charAt(0) + 'axis' + id.slice(1)];
    const subplots = {};
    for (const t of gd._fullData) {
        const key = (t.xaxis || 'x') + (t.yaxis || 'y');
        if (subplots[key]) continue;
        const xa = axis(t.xaxis || 'x'), ya = axis(t.yaxis || 'y');
        subplots[key] = {left: xa._offset, width: xa._length, top: ya._offset, height: ya._length};
    }
    return {
        plot: {left: box.left, top: box.top, width: box.width, height: box.height},
        svg_width: gd.querySelector('.main-svg').getBoundingClientRect().width,
        output_width: out.width,
        traces: gd._fullData.map(t => ({
            name: t.name, type: t.type, subplot: (t.xaxis || 'x') + (t.yaxis || 'y'), visible: t.visible,
            hoverinfo: t.hoverinfo, showlegend: t.showlegend, legend: t.legend || 'legend',
            size: t.marker?.size, opacity: t.marker?.opacity, line: t.marker?.line?.width,
            symbol: t.marker?.symbol, points: (t.x || []).length,
        })),
        titles: Array.from(gd.querySelectorAll('.infolayer .annotation-text, .infolayer .gtitle')).map(e => {
            const r = e.getBoundingClientRect();
            return {text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        }),
        subplots,
        yaxis_ranges: Object.fromEntries(Object.keys(L).filter(k => /^yaxis\\d*$/.test(k)).map(k => [k, L[k].range])),
        legends: Object.fromEntries(Array.from(gd.querySelectorAll('.infolayer > g[class^="legend"]')).map(g => [
            g.getAttribute('class'), Array.from(g.querySelectorAll('.legendtext')).map(e => e.textContent)])),
        svg_scatter_in_maps: gd.querySelectorAll('.scatterlayer .trace').length,
    };
}"""
#: The page position of point k of the first trace named ``name``.
POINT_JS = """(el, [name, k]) => {
    const gd = el.closest('.js-plotly-plot') || el;
    const t = gd._fullData.find(t => t.name === name);
    const L = gd._fullLayout;
    const xa = L['xaxis' + (t.xaxis || 'x').slice(1)], ya = L['yaxis' + (t.yaxis || 'y').slice(1)];
    const box = gd.getBoundingClientRect();
    return {x: box.left + xa._offset + xa.c2p(t.x[k]), y: box.top + ya._offset + ya.c2p(t.y[k]),
            id: Array.isArray(t.customdata) || ArrayBuffer.isView(t.customdata) ? Number(t.customdata[k]) : null};
}"""

#: The point of trace ``name`` farthest (on screen) from every other point that answers hover:
#: where a mouse can only mean that one.
ISOLATED_JS = """(el, name) => {
    const gd = el.closest('.js-plotly-plot') || el;
    const L = gd._fullLayout;
    const px = (t, k) => [L['xaxis' + (t.xaxis || 'x').slice(1)].c2p(t.x[k]), L['yaxis' + (t.yaxis || 'y').slice(1)].c2p(t.y[k])];
    const target = gd._fullData.find(t => t.name === name);
    const others = [];
    for (const t of gd._fullData) {
        if (t.hoverinfo === 'skip' || t.visible !== true || (t.xaxis || 'x') !== (target.xaxis || 'x')) continue;
        for (let k = 0; k < (t.x || []).length; k++) others.push([t, k, px(t, k)]);
    }
    let best = -1, room = -1;
    for (let k = 0; k < target.x.length; k++) {
        const [x, y] = px(target, k);
        let near = Infinity;
        for (const [t, j, [u, v]] of others) {
            if (t === target && j === k) continue;
            if (Number(t.customdata[j]) === Number(target.customdata[k])) continue;  // the same item, under it
            near = Math.min(near, Math.hypot(u - x, v - y));
        }
        if (near > room) { room = near; best = k; }
    }
    return best;
}"""
#: A hover label's lines (SVG: one tspan per line).
HOVER_LINES_JS = """(g) => {
    const lines = g.querySelectorAll('text.nums tspan.line');
    return lines.length ? Array.from(lines).map(t => t.textContent).join('\\n') : g.querySelector('text.nums').textContent;
}"""

#: The plot is as wide as its output area (and that narrower than ``below`` px).
FILLS_JS = """([p, below]) => {
    const out = p.closest('.jp-OutputArea-output').getBoundingClientRect().width;
    return out < below && Math.abs(p.querySelector('.main-svg').getBoundingClientRect().width - out) <= 2;
}"""

#: What the pages logged as errors (uncaught, or on the console), every page of the module.
PAGE_ERRORS: list[str] = []


def on_page(page, server) -> None:
    page.on("pageerror", lambda error: front_end_own_error(server, error) or PAGE_ERRORS.append(str(error)))
    page.on("console", lambda m: m.type == "error" and PAGE_ERRORS.append(m.text))


def run_notebook(page, server, name: str, source: str) -> None:
    copy_with_scratch_cell(ROOT / "notebooks" / source, server.root / name)
    open_notebook(page, server, name)
    run_all(page)
    page.wait_for_function(ALL_RAN, timeout=900_000, polling=1000)
    assert page.evaluate(ERROR_OUTPUTS) == 0, "a cell raised or printed to stderr"


@contextmanager
def notebook_page(browser, server, name: str, source: str):
    """A page of its own (1500 x 1100) with notebook ``source`` copied to ``name`` and run whole;
    its errors go to ``PAGE_ERRORS``."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    on_page(page, server)
    page.set_default_timeout(60_000)
    run_notebook(page, server, name, source)
    yield page
    context.close()


def cell_output(page, source: str):
    """The outputs of the cell whose code is ``source``, scrolled into view: JupyterLab
    keeps only the cells near the view on the page."""
    key = page.evaluate(
        """async (source) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const i = nb.widgets.findIndex(c => c.model.sharedModel.getSource().trim() === source);
            if (i < 0) return null;
            await nb.scrollToItem(i, 'start');
            nb.widgets[i].node.dataset.teaching = String(i);
            return String(i);
        }""",
        source,
    )
    assert key is not None, f"no cell {source!r}"
    output = page.locator(f'[data-teaching="{key}"] .jp-OutputArea')
    output.wait_for()
    output.scroll_into_view_if_needed()
    return output


def drawn(locator) -> dict:
    locator.scroll_into_view_if_needed()
    return locator.evaluate(DRAWN_JS)


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]:
                out.append((a["text"], b["text"]))
    return out


def isolated(plot, name: str) -> int:
    """The index of the point of trace ``name`` with the most room around it."""
    return plot.evaluate(ISOLATED_JS, name)


def hover_text(page, plot, name: str, k: int | None = None) -> tuple[int, str]:
    """Hover over point ``k`` of trace ``name`` (default: its most isolated) as a mouse does:
    the id and the hover label."""
    plot.scroll_into_view_if_needed()
    page.mouse.move(5, 5)
    k = isolated(plot, name) if k is None else k
    point = plot.evaluate(POINT_JS, [name, k])
    page.mouse.move(point["x"], point["y"], steps=3)
    label = plot.locator(".hoverlayer .hovertext")
    label.first.wait_for(timeout=10_000)
    return point["id"], label.first.evaluate(HOVER_LINES_JS)


def wait_until_it_fills(page, plot, below: float = 1e9) -> None:
    """plotly's widget draws 700 px wide until the kernel asks it to fit (within seconds, or
    once the kernel is free after "run all")."""
    plot.scroll_into_view_if_needed()
    page.wait_for_function(FILLS_JS, arg=[plot.element_handle(), below], timeout=60_000)
