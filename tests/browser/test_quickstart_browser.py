"""The quickstart notebook in a real JupyterLab, as a new user runs it: cold start, search by
meaning, seed both classes, and the first batch arrives."""

from __future__ import annotations

import pytest

from .lab_driver import copy_with_scratch_cell, open_notebook, probe, run_all
from .servers import ROOT


@pytest.fixture(scope="module")
def page(lab, browser, artifacts):
    copy_with_scratch_cell(ROOT / "notebooks" / "01_quickstart.ipynb", lab.root / "quickstart.ipynb")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_notebook(page, lab, "quickstart.ipynb")
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


def test_cold_start_search_seeds_the_loop(page, artifacts):
    root = page.locator(".aw-root")
    assert root.locator(".aw-search").get_attribute("open") is not None, "search is open on a cold start"
    assert 'Find examples of "other", "eye"' in root.locator(".aw-search-title").inner_text()
    assert "cold start" in root.locator(".aw-status-text").inner_text()
    assert root.locator(".aw-card").count() == 0

    eye = seed_from_search(root, "disorders of the eye and eyelid", "eye")
    root.locator(".aw-status-text", has_text="no label yet for 'other'.").wait_for()  # not 'eye' now
    root.screenshot(path=str(artifacts / "quickstart-cold-start.png"))
    other = seed_from_search(root, "fracture of the femur", "other")

    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=60_000)
    assert root.locator(".aw-card").count() == 25
    state = probe(page, "{'labels': w.labels.set_index('id').label.to_dict(), 'iteration': list(w.labels.iteration)}")
    assert {int(k): v for k, v in state["labels"].items()} == {eye: "eye", other: "other"}
    assert state["iteration"] == [-1, -1], "search labels are seed labels, outside any batch"
    root.screenshot(path=str(artifacts / "quickstart-first-batch.png"))
