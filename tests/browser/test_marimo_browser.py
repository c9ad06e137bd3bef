"""The marimo quickstart (notebooks/01_quickstart_marimo.py) served by a real ``marimo run``, in
headless chromium: the widget renders in marimo's page, a cold start is seeded from the search,
the batch is labelled with the mouse and the keyboard and submitted, the map and the curves draw
(the map's points come as binary buffers), the labels are in the store on disk, and marimo's own
button reads them back from the kernel. Screenshot: test-artifacts/marimo-*.png.

The tests of this module run in order on one page, as one labelling session would.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .marimo_driver import marimo_server
from .servers import ROOT
from .test_quickstart_browser import seed_from_search

BATCH = 25
NOTEBOOK = ROOT / "notebooks" / "01_quickstart_marimo.py"
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module", params=["run", "edit"])
def marimo(request, tmp_path_factory, artifacts, chromium_path):
    """``marimo run`` (the app view) and ``marimo edit`` (the notebook, where marimo has keys of its own)."""
    pytest.importorskip("marimo", reason="marimo is not installed: pip install marimo")
    if not (ROOT / "anchoral_widget" / "static" / "widget.js").is_file():
        pytest.fail("the front end is not built: npm --prefix js ci && npm --prefix js run build")
    try:
        mode = request.param
        with marimo_server(
            mode, NOTEBOOK, tmp_path_factory.mktemp("marimo"), artifacts / f"marimo-{mode}.log"
        ) as server:
            yield server
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def page(marimo, browser, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    PAGE_ERRORS.clear()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    page.set_default_timeout(60_000)
    page.goto(marimo.url)
    if marimo.mode == "edit":
        run_the_notebook(page)
    page.wait_for_selector('.aw-root[data-phase="cold"]', timeout=240_000)
    yield page
    page.screenshot(path=str(artifacts / f"marimo-{marimo.mode}-end.png"), full_page=True)
    context.close()


def run_the_notebook(page, tries=6):
    """``marimo edit`` opens the notebook with its cells not run: press its run button, as a person
    would, again while the kernel that starts with the page is not ready to take it yet."""
    for _ in range(tries):
        page.get_by_test_id("run-button").last.click(timeout=120_000)
        try:
            page.wait_for_selector(".aw-root", timeout=20_000)
            return
        except PlaywrightTimeout:  # the press came too early
            continue
    pytest.fail(f"marimo edit did not run the notebook after {tries} presses of its run button")


def root(page):
    return page.locator(".aw-root")


def batch_ids(page):
    return [int(x) for x in root(page).locator(".aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]


def stored(marimo):
    """Every event in the notebook's label store on disk, as (kind, payload), read from outside."""
    (path,) = (marimo.root / "anchoral-labels").glob("*.db")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return [
            (kind, json.loads(payload)) for kind, payload in db.execute("SELECT kind, payload FROM log ORDER BY seq")
        ]


def test_the_widget_renders_in_marimo_and_starts_cold(page):
    assert page.locator("marimo-anywidget, [data-cell-role], #App").count() > 0, "this is marimo's page"
    assert page.locator(".jp-Notebook").count() == 0
    assert root(page).count() == 1
    assert "cold start" in root(page).locator(".aw-status-text").inner_text()
    assert root(page).locator(".aw-search").get_attribute("open") is not None
    # the view's hello came back with its binary buffer whole: marimo passes custom messages and buffers
    page.wait_for_selector('.aw-root[data-messages="carried"]')


def test_search_seeds_the_loop_and_the_first_batch_arrives(page, marimo, artifacts):
    eye = seed_from_search(root(page), "disorders of the eye and eyelid", "eye")
    other = seed_from_search(root(page), "fracture of the femur", "other")
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=60_000)
    assert root(page).locator(".aw-card").count() == BATCH
    seeds = [p for kind, p in stored(marimo) if kind == "label"]
    assert {int(i): label for p in seeds for i, label in zip(p["ids"], p["labels"])} == {eye: "eye", other: "other"}
    root(page).screenshot(path=str(artifacts / f"marimo-{marimo.mode}-first-batch.png"))


def test_label_with_the_mouse_and_the_keyboard_then_submit(page, marimo):
    ids = batch_ids(page)
    root(page).locator('.aw-card[data-index="0"] button[data-label="eye"]').click()
    page.wait_for_selector(f'.aw-card[data-id="{ids[0]}"][data-answer="eye"]')
    root(page).locator('.aw-card[data-index="1"] .aw-text').click()  # focus the widget on card 1
    page.keyboard.press("2")  # eye; the focus moves on to card 2
    page.keyboard.press("s")  # skip card 2
    page.wait_for_selector(f'.aw-card[data-id="{ids[2]}"][data-answer="skip"]')
    page.keyboard.press("u")  # undo the skip
    page.wait_for_selector(f'.aw-card[data-id="{ids[2]}"][data-answer=""]')
    page.keyboard.press("1")
    page.wait_for_selector(f'.aw-card[data-id="{ids[2]}"][data-answer="other"]')
    root(page).locator('.aw-rest button[data-label="other"]').click()
    root(page).locator(".aw-submit:not([disabled])").wait_for()  # marimo draws widgets in a shadow root
    page.keyboard.press("Enter")  # the focus is still in the widget, on the button just clicked
    page.wait_for_selector('.aw-root[data-phase="ready"][data-iteration="1"] .aw-card', timeout=60_000)
    assert root(page).locator(".aw-iteration").inner_text() == "iteration 1"
    assert not set(batch_ids(page)) & set(ids)
    batch = {}
    for kind, p in stored(marimo):
        if kind == "label" and p.get("iteration") == 0:
            batch.update({int(i): label for i, label in zip(p["ids"], p["labels"])})
    assert batch == {ids[0]: "eye", ids[1]: "eye", ids[2]: "other", **{i: "other" for i in ids[3:]}}


def test_the_map_and_the_curves_draw(page, marimo, artifacts):
    page.wait_for_selector(".aw-map-view[data-status='ready'] .aw-map-plot[data-points]", timeout=240_000)
    points = int(page.locator(".aw-map-plot").get_attribute("data-points"))
    assert points >= 58_000, "every pool item on the map: its buffers arrived"
    page.wait_for_selector('.aw-curves-view[data-points="2"]', timeout=60_000)
    curves = (
        root(page)
        .locator(".aw-curves-plot")
        .evaluate("plot => Object.fromEntries(plot.data.map(t => [t.uid, Array.from(t.y ?? [])]))")
    )
    assert len(curves["minority:labelled"]) == 2
    root(page).screenshot(path=str(artifacts / f"marimo-{marimo.mode}-map.png"))


def test_marimo_s_button_reads_the_labels_back_from_the_kernel(page):
    page.get_by_role("button", name="show my labels").click()
    page.get_by_text(f"{2 + BATCH} labels;").wait_for(timeout=60_000)


def test_no_error_on_the_page(page):
    assert PAGE_ERRORS == []
    assert root(page).locator(".aw-error").is_hidden()
