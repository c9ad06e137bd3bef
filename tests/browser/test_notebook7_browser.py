"""The Labeller in Jupyter Notebook 7 (not JupyterLab), in headless chromium: the cards arrive,
one is labelled with the mouse and one with the keyboard, the batch is submitted, and a cell run
in the kernel shows what was stored. Screenshot: test-artifacts/notebook7.png.

The tests of this module run in order on one notebook, as one labelling session would.
"""

from __future__ import annotations

import textwrap

import pytest

from .lab_driver import cell_summary, probe, run_all, write_notebook
from .notebook7_driver import app_name, notebook7_server, open_notebook

BATCH = 25

SETUP = textwrap.dedent("""
    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=1000)
    labels = list(data.labels)
    w = aw.Labeller(list(data.texts), classes=["other", "eye"], minority=["eye"], store=None, map=False,
                    seed_labels={labels.index("eye"): "eye", labels.index("other"): "other"})
    w
""")


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory, artifacts):
    pytest.importorskip("notebook.app", reason="Notebook 7 is not installed: pip install 'notebook>=7'")
    if not (artifacts.parent / "anchoral_widget" / "static" / "widget.js").is_file():
        pytest.fail("the front end is not built: npm --prefix js ci && npm --prefix js run build")
    try:
        with notebook7_server(tmp_path_factory.mktemp("notebook7"), artifacts / "notebook7.log") as server:
            yield server
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def page(notebook7, browser, artifacts):
    write_notebook(notebook7.root / "labelling.ipynb", [SETUP])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_notebook(page, notebook7, "labelling.ipynb")
    run_all(page)
    # the first run encodes the pool (cached afterwards): allow for it
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=240_000)
    yield page
    context.close()


def root(page):
    return page.locator(".aw-root")


def card(page, i):
    return root(page).locator(f'.aw-card[data-index="{i}"]')


def batch_ids(page):
    return [int(x) for x in root(page).locator(".aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]


def test_the_page_is_notebook_7_and_the_cards_arrive(page):
    assert app_name(page) == "Jupyter Notebook"
    assert "/notebooks/labelling.ipynb" in page.url
    assert page.locator(".jp-LabShell").count() == 0, "this is JupyterLab's shell, not Notebook 7's"
    assert root(page).count() == 1
    assert root(page).locator(".aw-card").count() == BATCH
    assert card(page, 0).locator("button.aw-class").count() == 2
    assert root(page).locator(".aw-status-text").inner_text().startswith(f"ready: {BATCH} texts in")
    assert root(page).locator(".aw-progress-text").inner_text() == "2 labelled of 1,000 texts"


def test_label_with_the_mouse_and_the_keyboard(page):
    ids = batch_ids(page)
    cells_before = cell_summary(page)
    card(page, 0).locator('button[data-label="eye"]').click()
    page.wait_for_selector(f'.aw-card[data-id="{ids[0]}"][data-answer="eye"]')
    card(page, 1).locator(".aw-text").click()  # focus the widget on card 1
    page.keyboard.press("1")  # other
    page.wait_for_selector(f'.aw-card[data-id="{ids[1]}"][data-answer="other"]')
    # keys that are notebook commands in command mode: kept from Notebook 7 too
    for key in ("a", "b", "m", "d", "d"):
        page.keyboard.press(key)
    assert cell_summary(page) == cells_before, "a key typed in the widget changed the notebook"
    state = probe(page, "{'answers': w.answers, 'stored': len(w.labels)}")
    assert state == {"answers": {str(ids[0]): "eye", str(ids[1]): "other"}, "stored": 2}


def test_submit_stores_the_batch_and_brings_the_next(page, artifacts):
    ids = batch_ids(page)
    root(page).locator('.aw-rest button[data-label="other"]').click()
    page.wait_for_function(
        "() => document.querySelectorAll('.aw-root .aw-card[data-answer=\"\"]').length === 0"
        " && !document.querySelector('.aw-root .aw-submit').disabled"
    )
    page.keyboard.press("Enter")  # the focus is on the "other" button just clicked: submit
    page.wait_for_selector('.aw-root[data-phase="ready"][data-iteration="1"] .aw-card', timeout=60_000)
    new_ids = batch_ids(page)
    assert len(new_ids) == BATCH and not set(new_ids) & set(ids)
    state = probe(
        page,
        textwrap.dedent("""\
        {'stored': len(w.labels), 'iteration': w.iteration,
         'batch': w.labels[w.labels.iteration == 0].set_index('id').label.to_dict()}"""),
    )
    assert state["stored"] == 2 + BATCH and state["iteration"] == 1
    batch = {int(k): v for k, v in state["batch"].items()}
    assert batch == {ids[0]: "eye", **{i: "other" for i in ids[1:]}}
    assert root(page).locator(".aw-progress-text").inner_text() == f"{2 + BATCH} labelled of 1,000 texts"
    root(page).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "notebook7.png"))
