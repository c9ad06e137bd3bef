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

from .lab_driver import open_notebook, probe, run_all, run_code, write_notebook

SETUP = textwrap.dedent("""
    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=1000)
    labels = list(data.labels)
    w = aw.Labeller(list(data.texts), classes=["other", "eye"], minority=["eye"], store=None,
                    seed_labels={labels.index("eye"): "eye", labels.index("other"): "other"})
    w
""")

MAP = ".aw-root >> nth=0 >> .aw-map-view"
LAYERS_JS = """(sel) => {
    const plot = document.querySelectorAll(sel)[0];
    const out = {};
    for (const t of plot?.data ?? []) out[t.uid] = Array.from(t.customdata ?? []);
    return out;
}"""
#: How plotly drew the map: its traces in drawing order, the SVG scatter traces (drawn under
#: every WebGL one), and the legend's entries with the fill of their swatch.
DRAWN_JS = """() => {
    const plot = document.querySelector('.aw-root .aw-map-plot');
    return {
        order: plot._fullData.map(t => [t.uid, t.type]),
        svg_traces: plot.querySelectorAll('.scatterlayer .trace').length,
        gl_canvases: plot.querySelectorAll('canvas').length,
        // plotly removes a gone trace's colour bar with select('.cb' + uid): a uid must make a
        // valid selector ('.cblabelled:1' was not, and threw on the page)
        bad_selectors: plot._fullData.map(t => t.uid).filter(uid => {
            try { document.querySelector('.cb' + uid); return false; } catch (e) { return true; }
        }),
        legend: Array.from(plot.querySelectorAll('.legend .traces')).map(g => [
            g.querySelector('.legendtext').textContent,
            getComputedStyle(g.querySelector('.legendpoints path')).fill,
        ]),
    };
}"""
PAGE_ERRORS: list[str] = []
CURVES_JS = """() => {
    const plot = document.querySelector('.aw-root .aw-curves-plot');
    const out = {};
    for (const t of plot?.data ?? []) out[t.uid] = Array.from(t.y ?? []);
    return out;
}"""


@pytest.fixture(scope="module")
def page(lab, browser, artifacts):
    write_notebook(lab.root / "map.ipynb", [SETUP])
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    page.on("console", lambda m: m.type == "error" and "selector" in m.text and PAGE_ERRORS.append(m.text))
    page.set_default_timeout(60_000)
    open_notebook(page, lab, "map.ipynb")
    run_all(page)
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=240_000)
    yield page
    context.close()


def layers(page, view=0):
    return page.evaluate(LAYERS_JS.replace("[0]", f"[{view}]"), ".aw-root .aw-map-plot")


def test_the_map_and_curves_update_after_a_submitted_batch(page, artifacts):
    # the first batch does not wait for the map; the map comes once UMAP has fitted
    page.wait_for_selector(
        '.aw-map-view[data-status="ready"][data-iteration="0"] .aw-map-plot.js-plotly-plot', timeout=240_000
    )
    assert page.locator(".aw-map-status").first.is_hidden()
    before = layers(page)
    cards = [int(x) for x in page.locator(".aw-root .aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]
    assert sorted(before["batch"]) == sorted(cards)
    assert len(before["pool"]) == 1000
    assert len(before["subpool"]) > len(cards)
    labelled_before = sum(len(v) for k, v in before.items() if k.startswith("labelled-"))
    assert labelled_before == 2
    types = page.evaluate(
        "() => Object.fromEntries(document.querySelector('.aw-map-plot').data.map(t => [t.uid, t.type]))"
    )
    assert types["pool"] == "scattergl" and types["subpool"] == "scattergl"
    check_layers_and_legend(page)
    curves_before = page.evaluate(CURVES_JS)
    assert len(curves_before["minority:labelled"]) == 1
    assert "estimate" in page.locator(".aw-curves-plot").inner_text()

    # hovering a card rings its point and the anchor that retrieved it
    page.locator(".aw-root .aw-card").first.hover()
    page.wait_for_function(
        "() => document.querySelector('.aw-map-plot').data.find(t => t.uid === 'highlight').customdata.length === 2"
    )
    ring = layers(page)["highlight"]
    assert ring[0] == cards[0] and ring[1] in before["anchors-0"] + before["anchors-1"]

    # label the batch with the mouse and submit
    page.locator(".aw-root >> nth=0").locator('.aw-rest-button[data-label="other"]').click()
    page.locator(".aw-root >> nth=0").locator(".aw-submit:not([disabled])").click()
    page.wait_for_selector('.aw-map-view[data-iteration="1"]', timeout=120_000)
    page.wait_for_selector('.aw-curves-view[data-points="2"]', timeout=60_000)
    after = layers(page)
    assert set(after["batch"]).isdisjoint(before["batch"])
    assert set(after["labelled-0"]) == set(before["labelled-0"]) | set(before["batch"])
    assert after["pool"] == before["pool"]
    curves_after = page.evaluate(CURVES_JS)
    assert len(curves_after["minority:labelled"]) == 2 and curves_after != curves_before
    assert curves_after["counts:0"] == [1, 26]
    page.locator(".aw-root").first.screenshot(path=str(artifacts / "map.png"))
    page.locator(".aw-root .aw-map-plot").first.screenshot(path=str(artifacts / "map-layers.png"))
    check_layers_and_legend(page)

    timings = probe(page, "{'seconds': w._session._map.update_seconds_, 'bytes': w._session._map.update_bytes_}")
    (artifacts / "map-timings.json").write_text(json.dumps(timings, indent=1))
    assert len(timings["seconds"]) >= 2 and max(timings["seconds"][1:]) < 1.0


def check_layers_and_legend(page):
    """Drawn bottom to top as declared (views/plots.py), all on one renderer: plotly draws every
    WebGL trace above every SVG one, so an SVG anchor or batch ring would sit under the points."""
    drawn = page.evaluate(DRAWN_JS)
    order = [uid for uid, _ in drawn["order"]]
    assert order == [
        "pool",
        "subpool",
        "labelled-0",  # other
        "labelled-1",  # eye, the minority, above
        "anchors-0",
        "anchors-1",
        "batch",
        "highlight",
    ]
    assert {kind for _, kind in drawn["order"]} == {"scattergl"}
    assert drawn["svg_traces"] == 0 and drawn["gl_canvases"] >= 1
    assert drawn["bad_selectors"] == []
    # the legend: what each layer looks like, the subpool's swatch in its greens
    legend = dict(drawn["legend"])
    assert list(legend) == [
        "pool sample",
        "subpool (AnchorAL score)",
        "labelled: other",
        "labelled: eye",
        "anchors: other",
        "anchors: eye",
        "batch",
    ]
    r, g, b = (int(v) for v in legend["subpool (AnchorAL score)"].strip("rgba()").split(",")[:3])
    assert g > r and g > b, legend
    assert legend["anchors: eye"] == legend["labelled: eye"] == "rgb(214, 39, 40)"  # the minority's red
    assert legend["anchors: other"] == legend["labelled: other"] == "rgb(31, 119, 180)"
    assert PAGE_ERRORS == []


def test_a_view_opened_later_gets_the_whole_map(page):
    expected = layers(page)
    expected.pop("highlight")  # follows the mouse, in each view on its own
    run_code(page, "display(w)")
    page.wait_for_function("() => document.querySelectorAll('.aw-root').length === 2")
    page.wait_for_function(
        "() => document.querySelectorAll('.aw-root')[1].querySelector('.aw-map-view')?.dataset.iteration === '1'"
    )
    later = layers(page, view=1)
    later.pop("highlight")
    assert later == expected


def test_clicking_a_point_shows_its_text_and_labels_it(page):
    batch = set(layers(page)["batch"])
    free = next(i for i in layers(page)["subpool"] if i not in batch)
    # plotly's click, as the map view receives it: the point's id in customdata
    page.evaluate(
        "(id) => document.querySelector('.aw-map-plot').emit('plotly_click', {points: [{customdata: id}]})", free
    )
    picked = page.locator(".aw-root >> nth=0").locator(".aw-map-picked")
    picked.wait_for()
    text = probe(page, f"w._session.texts[{free}]")
    page.wait_for_function("([t]) => document.querySelector('.aw-map-picked .aw-text').textContent === t", arg=[text])
    picked.locator('button[data-label="eye"]').click()
    page.wait_for_function(
        "() => document.querySelector('.aw-map-picked .aw-map-note').textContent === 'labelled eye'", timeout=60_000
    )
    assert probe(page, f"w.loop.labels.get({free})") == "eye"


def test_no_page_error_on_the_map(page):
    """Once: uids with colons reached plotly's selectors ('.cblabelled:1' is not a valid selector)."""
    assert PAGE_ERRORS == []
