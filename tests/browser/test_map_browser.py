"""The map and the live curves in a real JupyterLab: drawn once UMAP has fitted (in the
background), updated after a submitted batch, a card's hover rings its point and anchor, and a
view opened later gets the whole map. The layers are drawn in their declared order on one
renderer, the legend shows what is drawn, and the page raises no error. Screenshots:
test-artifacts/map.png (the widget) and map-layers.png (the map alone); the kernel's timings of
each map update: test-artifacts/map-timings.json."""

from __future__ import annotations

import json
import textwrap

import pytest

from .lab_driver import (
    CURVES_JS,
    draw_lasso,
    front_end_own_error,
    open_notebook,
    probe,
    run_all,
    run_code,
    write_notebook,
)

SETUP = textwrap.dedent("""
    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=1000)
    labels = list(data.labels)
    # the anchors' subpool alone: every card has the anchor that retrieved it, which hovering rings
    w = aw.Labeller(list(data.texts), classes=["other", "eye"], minority=["eye"], store=None, outside_sample=0,
                    seed_labels={labels.index("eye"): "eye", labels.index("other"): "other"})
    w
""")

MAP = ".aw-root >> nth=0 >> .aw-map-view"
#: What the map drew: the pool's point count as the WebGL renderer holds it, and the layers
#: above it on the overlay canvas, bottom first, with their pool ids.
LAYERS_JS = """(view) => {
    const map = document.querySelectorAll('.aw-root .aw-map-view')[view];
    const out = {pool_points: Number(map.querySelector('.aw-map-gl').scatterplot?.get('points').length ?? -1)};
    for (const l of map.querySelector('.aw-map-overlay').drawnLayers ?? []) out[l.uid] = Array.from(l.ids);
    return out;
}"""
#: The legend's entries (text, pressed) in order.
LEGEND_JS = """() => Array.from(document.querySelectorAll('.aw-root .aw-map-legend .aw-map-layer'))
    .map(b => [b.textContent.slice(1), b.getAttribute('aria-pressed')])"""
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def page(jupyter, browser, shots):
    PAGE_ERRORS.clear()
    write_notebook(jupyter.root / "map.ipynb", [SETUP])
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.on("pageerror", lambda error: front_end_own_error(jupyter, error) or PAGE_ERRORS.append(str(error)))
    page.on("console", lambda m: m.type == "error" and "selector" in m.text and PAGE_ERRORS.append(m.text))
    page.set_default_timeout(60_000)
    open_notebook(page, jupyter, "map.ipynb")
    run_all(page)
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=240_000)
    yield page
    context.close()


def layers(page, view=0):
    return page.evaluate(LAYERS_JS, view)


def test_the_map_opens_on_the_labels_and_the_batch_with_the_pool_around_them(page, shots):
    page.wait_for_selector(".aw-map-view[data-status='ready'] .aw-map-plot[data-points]", timeout=240_000)
    spread = page.evaluate("""() => {
        const map = document.querySelector('.aw-root .aw-map-view');
        const plot = map.querySelector('.aw-map-plot').getBoundingClientRect();
        const batch = map.querySelector('.aw-map-overlay').drawnLayers.find(l => l.uid === 'batch').screen;
        const xs = batch.map(p => p[0]), ys = batch.map(p => p[1]);
        const view = map.querySelector('.aw-map-gl').scatterplot.get('cameraView');
        return {zoom: view[0], width: (Math.max(...xs) - Math.min(...xs)) / plot.width,
                height: (Math.max(...ys) - Math.min(...ys)) / plot.height,
                inside: batch.every(([x, y]) => x >= 0 && y >= 0 && x <= plot.width && y <= plot.height)};
    }""")
    # on the whole pool the batch's rings sat in one dark cluster: the camera now opens closer, on them
    assert spread["zoom"] > 1.05 and spread["inside"] and max(spread["width"], spread["height"]) >= 0.3, spread
    page.locator(MAP).screenshot(path=str(shots / "map-opened-on-the-batch.png"))


def test_the_map_and_curves_update_after_a_submitted_batch(page, shots):
    # the first batch does not wait for the map; the map comes once UMAP has fitted
    page.wait_for_selector(
        '.aw-map-view[data-status="ready"][data-iteration="0"] .aw-map-plot[data-points]', timeout=240_000
    )
    assert page.locator(".aw-map-status").first.is_hidden()
    before = layers(page)
    cards = [int(x) for x in page.locator(".aw-root .aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]
    assert sorted(before["batch"]) == sorted(cards)
    assert before["pool_points"] == 1000  # every pool item, not a sample
    assert len(before["subpool"]) > len(cards)
    labelled_before = sum(len(v) for k, v in before.items() if k.startswith("labelled-"))
    assert labelled_before == 2
    check_layers_and_legend(page)
    curves_before = page.evaluate(CURVES_JS)
    assert len(curves_before["minority:labelled"]) == 1
    assert "estimate" in page.locator(".aw-curves-plot").inner_text()

    # hovering a card rings its point and the anchor that retrieved it
    page.locator(".aw-root .aw-card").first.hover()
    page.wait_for_function(
        "() => document.querySelector('.aw-map-overlay').drawnLayers.find(l => l.uid === 'highlight')?.ids.length === 2"
    )
    ring = layers(page)["highlight"]
    assert ring[0] == cards[0] and ring[1] in before.get("anchors-0", []) + before.get("anchors-1", [])

    # label the batch with the mouse and submit
    page.locator(".aw-root >> nth=0").locator('.aw-rest-button[data-label="other"]').click()
    page.locator(".aw-root >> nth=0").locator(".aw-submit:not([disabled])").click()
    page.wait_for_selector('.aw-map-view[data-iteration="1"]', timeout=120_000)
    page.wait_for_selector('.aw-curves-view[data-points="2"]', timeout=60_000)
    after = layers(page)
    assert set(after["batch"]).isdisjoint(before["batch"])
    assert set(after["labelled-0"]) == set(before["labelled-0"]) | set(before["batch"])
    assert after["pool_points"] == 1000
    curves_after = page.evaluate(CURVES_JS)
    assert len(curves_after["minority:labelled"]) == 2 and curves_after != curves_before
    assert curves_after["counts:0"] == [1, 26]
    page.mouse.move(5, 5)
    page.locator(".aw-root").first.screenshot(path=str(shots / "map.png"))
    page.locator(".aw-root .aw-map-plot").first.screenshot(path=str(shots / "map-layers.png"))
    check_layers_and_legend(page)

    timings = probe(page, "{'seconds': w._session._map.update_seconds_, 'bytes': w._session._map.update_bytes_}")
    (shots / "map-timings.json").write_text(json.dumps(timings, indent=1))
    assert len(timings["seconds"]) >= 2 and max(timings["seconds"][1:]) < 1.0


def check_layers_and_legend(page):
    """Drawn bottom to top as declared (views/styles.py): the pool by WebGL, then the layers
    above it, the anchors' stars above the batch's rings; the legend names each and toggles it."""
    drawn = [uid for uid in layers(page) if uid not in ("pool_points", "highlight")]
    expected = ["subpool", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1"]
    assert drawn == [uid for uid in expected if uid in drawn] and {"subpool", "labelled-0", "batch"} <= set(drawn)
    anchors = [drawn.index(u) for u in drawn if u.startswith("anchors-")]
    assert anchors and min(anchors) > drawn.index("batch")
    legend = page.evaluate(LEGEND_JS)
    assert [name for name, _ in legend] == [
        "pool",
        "subpool (AnchorAL score)",
        "labelled: other",
        "labelled: eye",
        "batch",
        "anchors: other",
        "anchors: eye",
    ]
    assert all(pressed == "true" for _, pressed in legend)
    assert PAGE_ERRORS == []


def test_the_legend_toggles_each_layer(page):
    legend = page.locator(".aw-root >> nth=0").locator(".aw-map-legend")
    legend.locator('button[data-uid="batch"]').click()
    assert "batch" not in layers(page)
    legend.locator('button[data-uid="batch"]').click()
    assert "batch" in layers(page)
    legend.locator('button[data-uid="pool"]').click()
    opacity = "() => Number(getComputedStyle(document.querySelector('.aw-map-gl')).opacity)"
    assert page.evaluate(opacity) == 0
    legend.locator('button[data-uid="pool"]').click()
    assert page.evaluate(opacity) == 1


def test_hovering_a_pool_point_fetches_its_text(page):
    """The pool's texts are never sent; a hover asks for the one under the pointer."""
    page.wait_for_selector(".aw-root .aw-map-plot[data-points]", timeout=240_000)
    # the pool point farthest from every other, away from the layers drawn above it
    spot = page.evaluate("""() => {
        const map = document.querySelector('.aw-root .aw-map-view');
        const sp = map.querySelector('.aw-map-gl').scatterplot;
        const box = map.querySelector('.aw-map-plot').getBoundingClientRect();
        const n = sp.get('points').length;
        const xy = [...Array(n).keys()].map(i => sp.getScreenPosition(i));
        const above = map.querySelector('.aw-map-overlay').drawnLayers.flatMap(l => l.ids.map(id => xy[id]));
        let best = null;
        for (let i = 0; i < n; i++) {
            const [x, y] = xy[i];
            if (x < 20 || y < 20 || x > box.width - 20 || y > box.height - 20) continue;
            const clear = Math.min(
                ...xy.filter((_, j) => j !== i).map(([u, v]) => Math.hypot(u - x, v - y)),
                ...above.map(([u, v]) => Math.hypot(u - x, v - y) / 3),
            );
            if (!best || clear > best.clear) best = {i, x: box.left + x, y: box.top + y, clear};
        }
        return best && best.clear >= 4 ? best : null;
    }""")
    assert spot is not None
    text = probe(page, f"w._session.texts[{spot['i']}]")  # runs a cell: the notebook may scroll
    page.locator(".aw-root .aw-map-plot").first.scroll_into_view_if_needed()
    x, y = page.evaluate(
        """(i) => {
            const map = document.querySelector('.aw-root .aw-map-view');
            const [x, y] = map.querySelector('.aw-map-gl').scatterplot.getScreenPosition(i);
            const box = map.querySelector('.aw-map-plot').getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        spot["i"],
    )
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    page.wait_for_function(
        "([t]) => document.querySelector('.aw-root .aw-map-tip .aw-text')?.textContent === t",
        arg=[text],
        timeout=30_000,
    )
    assert page.evaluate("() => document.querySelector('.aw-root .aw-map-plot').dataset.hover") == str(spot["i"])
    page.mouse.move(5, 5)


def test_a_lasso_selects_the_pool_points_inside_it(page):
    """Shift and drag draws a lasso; the points inside it are the selection passed on."""
    cx, cy, r = draw_lasso(page, page.locator(".aw-root .aw-map-plot").first, 1 / 5, pause_ms=20)
    page.wait_for_function("() => Number(document.querySelector('.aw-root .aw-map-view').dataset.selected) > 0")
    # A busy browser may merge mouse moves, so the lasso has fewer corners than were drawn: the
    # points well inside the circle must be in it, and none far outside (corners at least 8).
    inside = page.evaluate(
        """([cx, cy, r]) => {
            const map = document.querySelector('.aw-root .aw-map-view');
            const sp = map.querySelector('.aw-map-gl').scatterplot;
            const box = map.querySelector('.aw-map-plot').getBoundingClientRect();
            const ids = [], near = [];
            for (let i = 0; i < sp.get('points').length; i++) {
                const [x, y] = sp.getScreenPosition(i);
                const d = Math.hypot(box.left + x - cx, box.top + y - cy);
                if (d < r * 0.9) ids.push(i);
                if (d < r * 1.05) near.push(i);
            }
            return {ids, near, selected: [...sp.get('selectedPoints')].sort((a, b) => a - b), count: Number(map.dataset.selected)};
        }""",
        [cx, cy, r],
    )
    assert inside["ids"], "the circle holds points"
    assert set(inside["ids"]) <= set(inside["selected"])  # every point well inside the lasso
    assert set(inside["selected"]) <= set(inside["near"])  # and none beyond its edge
    assert inside["count"] == len(inside["selected"])


def test_a_view_opened_later_gets_the_whole_map(page):
    expected = layers(page)
    expected.pop("highlight", None)  # follows the mouse, in each view on its own
    run_code(page, "display(w)")
    page.wait_for_function("() => document.querySelectorAll('.aw-root').length === 2")
    page.wait_for_function(
        "() => document.querySelectorAll('.aw-root')[1].querySelector('.aw-map-plot')?.dataset.points === '1000'"
    )
    later = layers(page, view=1)
    later.pop("highlight", None)
    assert later == expected


def test_clicking_a_point_shows_its_text_and_labels_it(page):
    batch = set(layers(page)["batch"])
    free = next(i for i in layers(page)["subpool"] if i not in batch)
    # the renderer's click on a point, as the map view receives it: a one-point selection
    page.evaluate("(i) => document.querySelector('.aw-map-gl').scatterplot.select([i])", free)
    picked = page.locator(".aw-root >> nth=0").locator(".aw-map-picked")
    picked.wait_for()
    text = probe(page, f"w._session.texts[{free}]")
    page.wait_for_function("([t]) => document.querySelector('.aw-map-picked .aw-text').textContent === t", arg=[text])
    picked.locator('button[data-label="eye"]').click()
    page.wait_for_function(
        "() => document.querySelector('.aw-map-picked .aw-map-note').textContent === 'labelled eye'", timeout=60_000
    )
    assert probe(page, f"w.loop.labels.get({free})") == "eye"


def test_closing_the_views_raises_no_error(page):
    """Once plotly's purge threw on clean-up ('.cblabelled:0' is not a valid selector); the map
    no longer uses plotly, and destroying its views throws nothing."""
    run_code(page, "w.close()")
    page.wait_for_function("() => document.querySelectorAll('.aw-root').length === 0", timeout=30_000)
    assert PAGE_ERRORS == []
