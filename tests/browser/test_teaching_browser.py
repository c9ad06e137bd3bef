"""Notebooks 02 (path dependence, for a class) and 03 (inspecting anchors) in a real JupyterLab,
looked at as a teacher and a researcher would: the replay fills its output area (also after a
re-run and a window resize) with titles that neither collide nor get cut, stop pauses where it
is, the map's layers are drawn in their fixed order with the anchors and the batch on top and
easy to see, hover answers for the coloured points and a click shows a point's details, the
tables read left to right, each curves panel has its own legend, the map is fitted once and
read from the cache after, and the page raises no error.

Screenshots in test-artifacts/ (test-artifacts/notebook7/ for Notebook 7): teaching-replay.png, teaching-replay-text.png,
teaching-inspect.png, teaching-tables.png, teaching-curves.png.
"""

from __future__ import annotations

import time

import pytest

from .lab_driver import probe, run_code
from .teaching_driver import (
    PAGE_ERRORS,
    POINT_JS,
    cell_output,
    drawn,
    hover_text,
    isolated,
    notebook_page,
    overlapping,
    wait_until_it_fills,
)

#: The plots of output areas that hold a widget with a play button (the replays), or the
#: inspector, or a plain figure, in page order.
REPLAYS = ".jp-OutputArea-output:has(.widget-play) .js-plotly-plot"
INSPECTOR = ".aw-inspect .js-plotly-plot"
INSPECT_CELL = 'print(projection.describe())\nrun.inspect("anchoral", T)'


def map_layers(traces: list[dict], subplot: str) -> list[dict]:
    return [t for t in traces if t["subplot"] == subplot]


def check_map_layers(layers: list[dict], *, truth: bool) -> None:
    """The one visual vocabulary: bottom to top pool, subpool, (truth), labelled, batch,
    anchors (a ring never covers a star), all WebGL (an SVG layer would be drawn under every
    WebGL one); anchors and the batch big and outlined, the pool sample small and faint."""
    names = [t["name"] for t in layers]
    expected = ["pool sample"]
    expected += [n for n in names if n.startswith("subpool")][:1]
    expected += ["minority, not labelled (truth)"] if truth else []
    labelled = [n for n in names if n.startswith("labelled: ")]
    anchors = [n for n in names if n.startswith("anchors: ")]
    assert len(labelled) == len(anchors) == 2
    assert names == expected + labelled + ["batch"] + anchors, names
    assert {t["type"] for t in layers} == {"scattergl"}
    by_name = {t["name"]: t for t in layers}
    pool = by_name["pool sample"]
    assert pool["size"] <= 4 and pool["opacity"] <= 0.3
    for name in anchors:
        assert by_name[name]["symbol"] == "star" and by_name[name]["size"] >= 14 and by_name[name]["line"] >= 1.5
    assert by_name["batch"]["symbol"] == "circle-open" and by_name["batch"]["size"] >= 16
    assert by_name["batch"]["line"] >= 2.5


# ---- notebook 02: the replay, as a teacher shows it ----------------------------------------------


@pytest.fixture(scope="module")
def replay_page(jupyter, browser, shots):
    with notebook_page(browser, jupyter, "path_dependence.ipynb", "02_path_dependence.ipynb") as page:
        page.wait_for_function(f"() => document.querySelectorAll('{REPLAYS}').length === 2")
        yield page


def check_replay_fills_and_reads(page, plot, *, hidden: bool) -> dict:
    wait_until_it_fills(page, plot)
    d = drawn(plot)
    assert abs(d["svg_width"] - d["output_width"]) <= 2, (d["svg_width"], d["output_width"])
    assert d["svg_width"] > 900
    titles = d["titles"]
    maps = [t for t in titles if ":" in t["text"] and "found" in t["text"]]
    assert len(maps) == 3 and not overlapping(titles), overlapping(titles)
    for t in titles:  # nothing cut at the plot's edges
        assert d["plot"]["left"] <= t["left"] and t["right"] <= d["plot"]["left"] + d["plot"]["width"], t
    if hidden:
        assert all("hidden clusters reached" in t["text"] for t in maps)
    # the maps fill their row: no wide blank band above and below (a map is about square)
    first = next(iter(d["subplots"].values()))
    assert 0.75 <= first["height"] / first["width"] <= 1.34, first
    return d


def test_the_replay_fills_its_output_area_with_titles_apart(replay_page, shots):
    toy, text = replay_page.locator(REPLAYS).nth(0), replay_page.locator(REPLAYS).nth(1)
    d = check_replay_fills_and_reads(replay_page, toy, hidden=True)
    check_map_layers(map_layers(d["traces"], "xy"), truth=True)
    assert d["svg_scatter_in_maps"] == sum(t["type"] == "scatter" for t in d["traces"])  # only the curves
    # the subpool-share panel has the whole pool's share to compare with
    assert any(t["name"].startswith("whole pool (") for t in d["traces"])
    toy.screenshot(path=str(shots / "teaching-replay.png"))
    d = check_replay_fills_and_reads(replay_page, text, hidden=False)
    check_map_layers(map_layers(d["traces"], "xy"), truth=True)
    text.screenshot(path=str(shots / "teaching-replay-text.png"))


def test_hover_on_the_replay_answers_for_anchors_and_the_batch(replay_page):
    plot = replay_page.locator(REPLAYS).nth(1)  # the text maps, dense
    traces = drawn(plot)["traces"]
    anchors = next(t for t in traces if t["name"] == "anchors: eye" and t["points"])
    item, label = hover_text(replay_page, plot, anchors["name"])
    assert label.startswith(f"#{item} anchor, labelled eye"), label
    k = isolated(plot, "batch")
    item, label = hover_text(replay_page, plot, "batch", k)
    assert label.startswith(f"#{item} batch rank {k + 1} of "), label
    replay_page.mouse.move(5, 5)


def slider_value(page, replay: int) -> int:
    box = page.locator(".jp-OutputArea-output:has(.widget-play)").nth(replay)
    return int(box.locator(".widget-readout").first.text_content())


def test_play_moves_every_map_and_stop_pauses_where_it_is(replay_page):
    box = replay_page.locator(".jp-OutputArea-output:has(.widget-play)").nth(0)
    box.scroll_into_view_if_needed()
    start = slider_value(replay_page, 0)
    buttons = box.locator(".widget-play button")
    buttons.nth(0).click()  # play
    replay_page.wait_for_function(
        "([sel, v]) => Number(document.querySelectorAll(sel)[0].querySelector('.widget-readout').textContent) >= v",
        arg=[".jp-OutputArea-output:has(.widget-play)", start + 2],
        timeout=60_000,
    )
    buttons.nth(1).click()  # stop
    time.sleep(2)
    stopped = slider_value(replay_page, 0)
    assert stopped >= start + 2, "stop sends the slider back no more"
    time.sleep(2)
    assert slider_value(replay_page, 0) == stopped, "stopped means stopped"
    titles = [t["text"] for t in drawn(replay_page.locator(REPLAYS).nth(0))["titles"]]
    found = probe(replay_page, f"[int(toy_runs.minority_found(n)[{stopped}]) for n in toy_runs.filters]")
    assert [int(t.split(": ")[1].split(" ")[0]) for t in titles[:3]] == found
    # one step back with the button
    box.locator("button", has_text="◀").click()
    replay_page.wait_for_function(
        "([sel, v]) => Number(document.querySelectorAll(sel)[0].querySelector('.widget-readout').textContent) === v",
        arg=[".jp-OutputArea-output:has(.widget-play)", stopped - 1],
    )


def test_the_replay_fills_its_output_area_after_a_rerun_and_a_resize(replay_page):
    run_code(replay_page, "display(toy_runs.replay(3))")
    later = replay_page.locator(".jp-Cell:last-child .js-plotly-plot")
    later.wait_for(timeout=60_000)
    wait_until_it_fills(replay_page, later)
    plots = (replay_page.locator(REPLAYS).nth(0), later)
    widths = [plot.evaluate("p => p.closest('.jp-OutputArea-output').getBoundingClientRect().width") for plot in plots]
    replay_page.set_viewport_size({"width": 1150, "height": 1000})
    try:
        for plot, width in zip(plots, widths):
            # the output area narrows with the window (Notebook 7 centres the notebook: less), and the plot with it
            wait_until_it_fills(replay_page, plot, below=width)
            d = drawn(plot)
            assert not overlapping(d["titles"]), overlapping(d["titles"])
    finally:
        replay_page.set_viewport_size({"width": 1500, "height": 1100})


def test_no_page_error_in_notebook_02(replay_page):
    assert PAGE_ERRORS == []


# ---- notebook 03: anchors, subpool and batch, as a researcher looks at them --------------------


@pytest.fixture(scope="module")
def inspect_page(jupyter, browser, shots):
    with notebook_page(browser, jupyter, "inspect_anchors.ipynb", "03_inspect_anchors.ipynb") as page:
        page.locator(INSPECTOR).wait_for()
        yield page


def headers(table) -> list[str]:
    return [h.strip() for h in table.locator("thead th").all_text_contents()]


def test_tables_read_left_to_right_and_say_why_the_batch(inspect_page, shots):
    subpool = cell_output(inspect_page, 'show(run.subpool_table("anchoral", T, by="uncertainty", top=30))')
    columns = headers(subpool.locator("table"))
    assert columns[:2] == ["subpool rank", "id"]
    ranks = [r.strip() for r in subpool.locator("tbody tr td:nth-child(6)").all_text_contents()]
    assert columns[5] == "batch rank" and ranks[:25] == [str(i) for i in range(1, 26)] and ranks[25:] == [""] * 5
    table = cell_output(inspect_page, 'show(run.batch_table("anchoral", T))').locator("table")
    batch = headers(table)
    for columns in (batch, headers(subpool.locator("table"))):
        assert {"uncertainty (entropy)", "P(eye)", "score", "retrieved by (anchor)", "text"} <= set(columns)
        assert not {"nearest anchor", "via anchor"} & set(columns)
    assert batch[:2] == ["batch rank", "id"]
    aligned = table.evaluate(
        """t => { const heads = Array.from(t.querySelectorAll('thead th')).map(h => h.textContent.trim());
        const row = t.querySelector('tbody tr'); const cells = Array.from(row.querySelectorAll('td'));
        const align = (name) => getComputedStyle(cells[heads.indexOf(name)]).textAlign;
        const head = (name) => getComputedStyle(t.querySelectorAll('thead th')[heads.indexOf(name)]).textAlign;
        return {text: align('text'), anchor: align('retrieved by (anchor)'), label: align('label (oracle)'),
                id: align('id'), text_head: head('text')}; }"""
    )
    assert aligned["text"] == aligned["anchor"] == aligned["label"] == aligned["text_head"] == "left", aligned
    assert aligned["id"] == "right"
    table.screenshot(path=str(shots / "teaching-tables.png"))


def test_the_inspector_shows_every_layer_and_answers_hover_and_click(inspect_page, shots):
    plot = cell_output(inspect_page, INSPECT_CELL).locator(".js-plotly-plot")
    wait_until_it_fills(inspect_page, plot)
    d = drawn(plot)
    assert abs(d["svg_width"] - d["output_width"]) <= 2 and d["svg_width"] > 900
    check_map_layers(d["traces"], truth=True)
    pool = next(t for t in d["traces"] if t["name"] == "pool sample")
    assert pool["hoverinfo"] == "skip"  # the grey background never answers for a coloured point
    plot.screenshot(path=str(shots / "teaching-inspect.png"))
    eye_anchors = next(t for t in d["traces"] if t["name"] == "anchors: eye")
    assert eye_anchors["points"] >= 1
    item, label = hover_text(inspect_page, plot, "anchors: eye")
    assert label.startswith(f"#{item} anchor, labelled eye"), label
    k = isolated(plot, "batch")
    item, label = hover_text(inspect_page, plot, "batch", k)
    assert label.startswith(f"#{item} batch rank {k + 1} of 25") and "uncertainty" in label, label
    # a click shows the point's details under the map
    point = plot.evaluate(POINT_JS, ["batch", k])
    inspect_page.mouse.click(point["x"], point["y"])
    details = inspect_page.locator(".aw-inspect-details")
    details.locator("text=batch rank").wait_for(timeout=30_000)
    text = details.inner_text()
    assert f"id\t{point['id']}" in text and f"{k + 1} of 25" in text and "retrieved by (anchor)" in text
    assert probe(inspect_page, f"str(data.texts[{point['id']}])") in text


def test_the_curves_have_a_legend_per_panel_and_the_pool_share(inspect_page, shots):
    plot = cell_output(inspect_page, 'curves_figure(curves, title="AnchorAL on icd10-eye").show()')
    plot = plot.locator(".js-plotly-plot").first
    d = drawn(plot)
    legends = list(d["legends"].values())
    assert len(legends) == 4, d["legends"]
    for names in legends:
        assert len(names) == len(set(names)), names
    assert any(n.startswith("whole pool (1.") for n in legends[0])
    low, high = d["yaxis_ranges"]["yaxis"]
    assert low == 0 and high < 0.9, "the share axis follows its lines"
    assert not overlapping(d["titles"])
    plot.screenshot(path=str(shots / "teaching-curves.png"))


def test_the_map_is_fitted_once_and_read_after(inspect_page):
    state = probe(
        inspect_page,
        "(lambda p: {'cached': p.fit().from_cache_, 'same': bool((p.sample_xy_ == projection.sample_xy_).all()),"
        " 'said': projection.describe()})(Projection(X, seed=SEED))",
    )
    assert state["cached"] and state["same"], state
    assert state["said"].startswith("map: ") and "{" not in state["said"]


def test_no_page_error_in_notebook_03(inspect_page):
    assert PAGE_ERRORS == []
