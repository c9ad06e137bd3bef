"""The quickstart notebook in a real JupyterLab, as a new user runs it: the whole pool prepared in
the background, cold start, search by meaning, seed both classes, and the first batch arrives;
then a widget whose encoder is held half-way shows its progress while the notebook stays free."""

from __future__ import annotations

import pytest

from .lab_driver import copy_with_scratch_cell, open_notebook, probe, run_all, run_code
from .servers import ROOT


@pytest.fixture(scope="module")
def page(jupyter, browser, shots):
    copy_with_scratch_cell(ROOT / "notebooks" / "01_quickstart.ipynb", jupyter.root / "quickstart.ipynb")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_notebook(page, jupyter, "quickstart.ipynb")
    run_all(page)
    page.wait_for_selector('.aw-root[data-phase="cold"]', timeout=240_000)
    yield page
    context.close()


def seed_from_search(root, query, label):
    """Search, then give the first result not labelled yet the class ``label``; its id."""
    root.locator(".aw-search-input").fill(query)
    root.locator(".aw-search-input").press("Enter")
    root.locator(".aw-search-note", has_text=f'nearest to "{query}"').wait_for()
    hit = root.locator(".aw-hit", has=root.page.locator(f'button.aw-seed[data-label="{label}"]')).first
    hit_id = int(hit.get_attribute("data-id"))
    hit.locator(f'button.aw-seed[data-label="{label}"]').click()
    root.locator(f'.aw-hit[data-id="{hit_id}"][data-label="{label}"]').wait_for()
    return hit_id


def test_after_run_all_the_widget_is_in_view_with_the_search_first_and_the_help_across(page, shots):
    root = page.locator(".aw-root")
    page.wait_for_timeout(2_500)  # past the widget's own check, once the notebook stopped scrolling
    box, height = root.bounding_box(), page.viewport_size["height"]
    toolbar = page.locator(".jp-NotebookPanel-toolbar").first.bounding_box()
    assert box["y"] < height and box["y"] + box["height"] > 0, (
        "Run All ends on a later cell: the widget is brought into view"
    )
    assert box["y"] >= toolbar["y"] + toolbar["height"] - 1, "its headline is not under the notebook's toolbar"
    search, map_ = root.locator(".aw-search").bounding_box(), root.locator(".aw-map-view").bounding_box()
    # before the first batch the search is the first thing to do: where the cards will be, beside the map
    assert search["y"] <= map_["y"] + 1 and search["x"] + search["width"] <= map_["x"] + 1
    root.screenshot(path=str(shots / "quickstart-run-all.png"))
    root.locator(".aw-help-button").click()
    panel = root.locator(".aw-help").bounding_box()
    assert panel["width"] >= 0.9 * (box["width"] - 24), "the help spans the widget, no blank half beside it"
    root.screenshot(path=str(shots / "quickstart-help.png"))
    root.locator(".aw-help-button").click()


def test_cold_start_search_seeds_the_loop(page, shots):
    root = page.locator(".aw-root")
    assert root.locator(".aw-search").get_attribute("open") is not None, "search is open on a cold start"
    assert 'Find examples of "other", "eye"' in root.locator(".aw-search-title").inner_text()
    assert "cold start" in root.locator(".aw-status-text").inner_text()
    assert root.locator(".aw-card").count() == 0

    eye = seed_from_search(root, "disorders of the eye and eyelid", "eye")
    root.locator(".aw-status-text", has_text="no label yet for 'other'.").wait_for()  # not 'eye' now
    root.screenshot(path=str(shots / "quickstart-cold-start.png"))
    other = seed_from_search(root, "fracture of the femur", "other")

    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=60_000)
    assert root.locator(".aw-card").count() == 25
    first_card = root.locator(".aw-card").first.bounding_box()
    assert root.locator(".aw-search").bounding_box()["y"] > first_card["y"], "then the cards take its place"
    state = probe(page, "{'labels': w.labels.set_index('id').label.to_dict(), 'iteration': list(w.labels.iteration)}")
    assert {int(k): v for k, v in state["labels"].items()} == {eye: "eye", other: "other"}
    assert state["iteration"] == [-1, -1], "search labels are seed labels, outside any batch"
    root.screenshot(path=str(shots / "quickstart-first-batch.png"))


def test_the_quickstart_labels_the_whole_pool_prepared_in_the_background(page):
    state = probe(
        page,
        "{'pool': w.progress['pool'], 'dataset': len(data.texts), 'startup': w.startup}",
    )
    assert state["pool"] == state["dataset"] >= 58_000, "the quickstart labels the whole icd10-eye pool"
    startup = state["startup"]
    assert {"encoding", "pool", "store"} <= set(startup["seconds"])
    panel = page.locator(".aw-root .aw-startup").first
    if startup["stage"] == "upgrade":  # MiniLM's vectors still encoding behind the labelling: shown
        # fast, or MiniLM's once the labels' neighbourhoods are in (earlier tests label some)
        assert startup["embeddings"] in ("fast", "MiniLM") and panel.is_visible()
    else:
        assert startup["stage"] == "ready" and panel.is_hidden(), "nothing left to show once the pool is ready"


HELD_ENCODER = """
import threading, time
import numpy as np

class HeldEncoder:
    \"\"\"Encodes half the pool, says so, then waits to be let go.\"\"\"
    def __init__(self):
        self.go = threading.Event()
    def encode(self, texts, on_progress=None):
        n = len(texts)
        on_progress(0, n)
        time.sleep(0.5)
        on_progress(n // 2, n)
        assert self.go.wait(120)
        rows = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

held = HeldEncoder()
t0 = time.perf_counter()
w2 = aw.Labeller(data.texts, classes=["other", "eye"], encoder=held, store=None, map=False)
print(f"RETURNED {time.perf_counter() - t0:.3f} POOL {len(data.texts)}")
display(w2)
"""


def test_a_slow_encode_shows_its_progress_and_leaves_the_notebook_free(page, shots):
    out = run_code(page, HELD_ENCODER).split()
    assert float(out[out.index("RETURNED") + 1]) < 3.0, "Labeller(...) returns at once"
    n = int(out[out.index("POOL") + 1])
    widget = page.locator(".jp-NotebookPanel .jp-Cell:last-child .aw-root")
    widget.locator(".aw-startup-text", has_text="/s").wait_for(timeout=30_000)
    assert widget.get_attribute("data-phase") == "preparing"
    text = widget.locator(".aw-startup-text").inner_text()
    assert text.startswith(f"encoding {n // 2:,} / {n:,} texts") and "left" in text
    width = widget.locator(".aw-startup-bar").evaluate("el => el.style.width")
    assert abs(float(width.rstrip("%")) - 50) < 0.5
    assert "preparing the pool" in widget.locator(".aw-empty").inner_text()
    widget.screenshot(path=str(shots / "quickstart-preparing.png"))
    # the kernel answers while the encode is held: the notebook is free
    assert probe(page, "w2.phase") == "preparing"
    assert probe(page, "(held.go.set(), w2.wait(60), w2.phase)[2]") == "cold"
