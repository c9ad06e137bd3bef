"""The Labeller in a real JupyterLab and in Notebook 7, in headless chromium: label with the mouse
and the keyboard, undo, skip, submit, and check what the kernel stored by running a cell.

The tests of this module run in order on one notebook, as one labelling session would.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from .lab_driver import CURVES_JS, app_name, cell_summary, open_notebook, probe, run_all, write_notebook

BATCH = 25
EVIL = '<img src=x onerror="window.__xss=1">Fracture of one rib, left side<script>window.__xss=2</script>'

SETUP = textwrap.dedent(f"""
    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=1000)
    texts = list(data.texts)
    labels = list(data.labels)
    first_eye = labels.index("eye")
    evil = labels.index("other")
    texts[evil] = {EVIL!r}  # a document holding HTML and a script: it must show as text
    texts[first_eye] = '<img src=x onerror="window.__xss=3">' + texts[first_eye]  # the rare anchor too
    # the anchors' subpool alone (the paper's): every card quotes the anchor that retrieved it
    w = aw.Labeller(texts, classes=["other", "eye"], minority=["eye"], outside_sample=0,
                    seed_labels={{first_eye: "eye", evil: "other"}})
    w
""")
SECOND_VIEW = "w  # a second view of the same widget"


@pytest.fixture(scope="module")
def page(jupyter, browser, shots):
    write_notebook(jupyter.root / "labelling.ipynb", [SETUP, SECOND_VIEW])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_notebook(page, jupyter, "labelling.ipynb")
    run_all(page)
    # the first run encodes the pool (cached afterwards): allow for it
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=240_000)
    yield page
    page.screenshot(path=str(shots / "labeller-end.png"))
    context.close()


def views(page):
    return page.locator(".aw-root")


def first(page):
    return views(page).nth(0)


def card(page, i, view=0):
    return views(page).nth(view).locator(f'.aw-card[data-index="{i}"]')


def batch_ids(page, view=0):
    return [int(x) for x in views(page).nth(view).locator(".aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]


def test_the_page_is_the_front_end_under_test(page, jupyter):
    lab = jupyter.app == "lab"
    assert app_name(page) == ("JupyterLab" if lab else "Jupyter Notebook")
    assert (page.locator(".jp-LabShell").count() == 1) == lab
    assert ("/lab/workspaces/" if lab else "/notebooks/labelling.ipynb") in page.url
    # both views' hello came back with its binary buffer whole: custom messages and buffers pass
    page.wait_for_function(
        "() => [...document.querySelectorAll('.aw-root')].every(r => r.dataset.messages === 'carried')"
    )


def test_a_batch_shows_as_cards_in_both_views(page, shots):
    assert views(page).count() == 2
    for v in range(2):
        assert views(page).nth(v).locator(".aw-card").count() == BATCH
    assert batch_ids(page, 0) == batch_ids(page, 1)
    c = card(page, 0)
    assert c.locator("button.aw-class").count() == 2
    assert c.locator(".aw-guess").inner_text().startswith("model: ")
    assert "why am I seeing this?" in c.locator(".aw-why").inner_text()
    assert c.locator(".aw-score").inner_text().startswith("score ")
    status = first(page).locator(".aw-status-text").inner_text()
    assert status.startswith(f"ready: {BATCH} texts in"), status
    assert first(page).locator(".aw-progress-text").inner_text() == "2 labelled of 1,000 texts"
    first(page).screenshot(path=str(shots / "labeller.png"))


def test_a_document_with_html_and_script_renders_as_text(page):
    root = first(page)
    root.locator(".aw-search summary").click()
    root.locator(".aw-search-input").fill(EVIL)
    root.locator(".aw-search-input").press("Enter")
    hit = root.locator(".aw-hit-text", has_text="<script>window.__xss=2</script>").first
    hit.wait_for()
    assert hit.inner_text() == EVIL
    assert root.locator(".aw-hit").first.inner_text().find("labelled other") >= 0
    # the seeded documents are anchors: the cards near them quote them, as text
    assert root.locator(".aw-anchor-text", has_text="<img src=x").count() >= 1
    assert page.locator(".jp-NotebookPanel img[src='x']").count() == 0
    assert page.locator(".aw-root script").count() == 0
    assert page.evaluate("() => window.__xss") is None
    root.locator(".aw-search summary").click()  # fold the search away again


def test_label_with_the_mouse(page):
    ids = batch_ids(page)
    card(page, 0).locator('button[data-label="eye"]').click()
    card(page, 1).locator('button[data-label="other"]').click()
    # both views show the kernel's answers
    page.wait_for_function(
        '() => document.querySelectorAll(\'.aw-card[data-index="0"][data-answer="eye"]\').length === 2'
        ' && document.querySelectorAll(\'.aw-card[data-index="1"][data-answer="other"]\').length === 2'
    )
    state = probe(page, "{'answers': w.answers, 'stored': len(w.labels)}")
    assert state == {"answers": {str(ids[0]): "eye", str(ids[1]): "other"}, "stored": 2}


def test_label_skip_and_undo_with_the_keyboard(page):
    ids = batch_ids(page)
    cells_before = cell_summary(page)
    card(page, 2).locator(".aw-text").click()  # focus the widget on card 2
    page.keyboard.press("2")  # eye; the focus moves on to card 3
    page.keyboard.press("s")  # skip card 3
    page.wait_for_selector(f'.aw-card[data-id="{ids[3]}"][data-answer="skip"]')
    page.keyboard.press("u")  # undo the skip: the focus goes back to card 3, to answer it again
    page.wait_for_selector(f'.aw-card[data-id="{ids[3]}"][data-answer=""]')
    page.wait_for_selector(f'.aw-root >> nth=0 >> .aw-card.aw-focused[data-id="{ids[3]}"]')
    page.keyboard.press("1")  # other
    # keys that are JupyterLab commands in command mode: kept from the notebook
    for key in ("a", "b", "m", "y", "d", "d", "Shift+Enter", "3"):
        page.keyboard.press(key)
    page.wait_for_selector(f'.aw-card[data-id="{ids[3]}"][data-answer="other"]')
    assert cell_summary(page) == cells_before, "a key typed in the widget changed the notebook"
    state = probe(page, "w.answers")
    assert state == {str(ids[0]): "eye", str(ids[1]): "other", str(ids[2]): "eye", str(ids[3]): "other"}


def test_keys_do_nothing_when_the_widget_has_no_focus(page):
    before = probe(page, "w.answers")  # running the probe leaves the focus in the notebook
    cells = cell_summary(page)
    page.keyboard.press("Escape")
    for key in ("s", "u", "Backspace"):  # skip and undo in the widget, nothing in the notebook
        page.keyboard.press(key)
    assert cell_summary(page) == cells
    assert probe(page, "w.answers") == before


def test_help_lists_the_shortcuts(page):
    root = first(page)
    root.locator(".aw-help-button").click()
    help_text = root.locator(".aw-help").inner_text()
    assert "submit the batch" in help_text and "1 = other" in help_text and "2 = eye" in help_text
    root.locator(".aw-help-button").click()
    assert root.locator(".aw-help").is_hidden()


def test_submit_with_open_cards_shows_the_kernel_error(page):
    card(page, 5).locator(".aw-text").click()
    page.keyboard.press("Enter")
    for v in range(2):
        error = views(page).nth(v).locator(".aw-error-text")
        error.wait_for()
        assert error.inner_text().startswith(f"{BATCH - 4} card(s) have no answer yet")
    first(page).locator(".aw-dismiss").click()
    page.wait_for_function("() => [...document.querySelectorAll('.aw-error')].every(e => e.hidden)")


def test_the_rest_then_submit_stores_the_batch_and_brings_the_next(page, shots):
    ids = batch_ids(page)
    first(page).locator('.aw-rest button[data-label="other"]').click()
    page.wait_for_function(
        "n => document.querySelectorAll('.aw-root:first-of-type .aw-card[data-answer=\"\"]').length === 0"
        " && !document.querySelector('.aw-root .aw-submit').disabled",
        arg=BATCH,
    )
    # time from the submit key to the next batch on screen, measured in the page
    page.evaluate("""() => {
        const root = document.querySelector('.aw-root');
        window.__t = {};
        window.addEventListener('keydown', (e) => { if (e.key === 'Enter') window.__t.submit = performance.now(); }, { capture: true, once: true });
        new MutationObserver((_, obs) => {
            if (root.dataset.phase === 'ready' && root.dataset.iteration === '1' && root.querySelectorAll('.aw-card').length) {
                window.__t.ready = performance.now(); obs.disconnect();
            }
        }).observe(root, { attributes: true, subtree: true, childList: true });
    }""")
    page.keyboard.press("Enter")  # the focus is still on the "other" button just clicked
    page.wait_for_function("() => window.__t.ready !== undefined", timeout=60_000)
    seconds = page.evaluate("() => (window.__t.ready - window.__t.submit) / 1000")
    root = first(page)
    status = root.locator(".aw-status-text").inner_text()
    (shots / "submit_to_next_batch.json").write_text(json.dumps({"seconds": seconds, "status": status, "batch": BATCH}))
    print(f"\nsubmit to next batch in the browser: {seconds:.2f} s ({status})")
    assert 0 < seconds < 30
    assert status.startswith(f"ready: {BATCH} texts in")

    new_ids = batch_ids(page)
    # the keys work on the new batch at once: the focus stayed in the widget
    page.keyboard.press("2")
    page.wait_for_selector(f'.aw-card[data-id="{new_ids[0]}"][data-answer="eye"]')
    assert len(new_ids) == BATCH and not set(new_ids) & set(ids)
    assert batch_ids(page, 1) == new_ids
    state = probe(
        page,
        textwrap.dedent("""\
        {'stored': len(w.labels), 'unique': bool(w.labels.id.is_unique), 'iteration': w.iteration,
         'batch': w.labels[w.labels.iteration == 0].set_index('id').label.to_dict(),
         'counts': w.progress['counts'], 'skipped': w.loop.skipped_ids.tolist(), 'answers': w.answers}"""),
    )
    assert state["answers"] == {str(new_ids[0]): "eye"}
    assert state["stored"] == 2 + BATCH and state["unique"] and state["iteration"] == 1
    batch = {int(k): v for k, v in state["batch"].items()}
    assert batch == {ids[0]: "eye", ids[1]: "other", ids[2]: "eye", ids[3]: "other", **{i: "other" for i in ids[4:]}}
    assert state["counts"] == {"other": 1 + BATCH - 2, "eye": 3} and state["skipped"] == []
    assert root.locator(".aw-progress-text").inner_text() == f"{2 + BATCH} labelled of 1,000 texts"
    assert root.locator(".aw-iteration").inner_text() == "iteration 1"
    root.screenshot(path=str(shots / "labeller-next-batch.png"))


def test_a_past_label_is_changed_in_the_review_view(page, shots):
    root = first(page)
    root.focus()  # the last test's probe ran a cell: the focus is in the notebook
    page.keyboard.press("v")
    rows = root.locator(".aw-review-row")
    rows.first.wait_for()
    assert root.locator(".aw-review-headline").inner_text().startswith(f"{2 + BATCH} labels, newest first")
    newest = int(rows.first.get_attribute("data-id"))
    was = rows.first.get_attribute("data-label")
    to = "eye" if was == "other" else "other"
    root.screenshot(path=str(shots / "review-view.png"))
    rows.first.locator(f'.aw-review-to[data-to="{to}"]').click()
    page.wait_for_function(
        "t => document.querySelector('.aw-root .aw-review-said').textContent === t", arg=f"1 label changed to {to}"
    )
    assert root.locator(f'.aw-review-row[data-id="{newest}"]').get_attribute("data-label") == to
    state = probe(page, f"{{'label': w.labels.set_index('id').label[{newest}], 'events': len(w.loop.events)}}")
    assert state["label"] == to
    root.focus()
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('.aw-root .aw-review').hidden")
    assert probe(page, "w.answers") != {}, "the draft on the batch's card is still there"


def test_can_i_stop_draws_a_check_sample_answered_on_marked_cards(page, shots):
    root = first(page)
    root.locator(".aw-stopping-button").click()
    panel = root.locator(".aw-stopping")
    panel.locator(".aw-stopping-line").first.wait_for()
    assert panel.locator(".aw-stopping-line").first.inner_text().endswith("rare items found.")
    root.locator(".aw-check-draw").click()
    cards = panel.locator(".aw-check-card")
    cards.first.wait_for()
    drawn = [int(i) for i in cards.evaluate_all("els => els.map(e => e.dataset.id)")]
    assert drawn and cards.first.locator(".aw-check-badge").inner_text().lower() == "check sample"
    panel.screenshot(path=str(shots / "stopping-panel.png"))
    truth = probe(page, f"[str(labels[i]) for i in {drawn}]")
    for item, label in zip(drawn, truth):  # answered as the dataset says, card by card
        panel.locator(f'.aw-check-card[data-id="{item}"] .aw-check-answer[data-label="{label}"]').click()
        panel.locator(f'.aw-check-card[data-id="{item}"]').wait_for(state="detached")
    report = probe(page, "w.review.progress_report()")
    assert report["answered"] == len(drawn), "each answer counts in the estimate"
    page.wait_for_function(  # the panel shows the report that counts them
        "t => [...document.querySelector('.aw-root').querySelectorAll('.aw-stopping-line')].map(l => l.textContent).join('\\n') === t",
        arg=report["text"],
    )
    stored = probe(page, f"w.labels.set_index('id').label[{drawn}].tolist()")
    assert stored == truth, "each check answer is stored as a label"
    # a sample answered in the notebook as well gives the estimate: the curves draw it beside the labels
    probe(
        page,
        "w.review.answer_sample({int(i): str(labels[i]) for i in w.review.check_sample(60)['id']"
        " if int(i) not in w.loop.pending.batch_ids})",
    )
    report = probe(page, "w.review.progress_report()")
    assert report["needed"] == 0
    page.wait_for_function(
        f"() => {{ const y = ({CURVES_JS})()['rare:estimate'] ?? []; "
        f"return y.length > 0 && Math.abs(y[y.length - 1] - {report['found'] + report['left']}) < 0.01; }}"
    )
    root.locator(".aw-curves-plot").screenshot(path=str(shots / "curves-rare-estimate.png"))
    root.locator(".aw-stopping-button").click()
    assert panel.is_hidden()
