"""The rough edges a user hit on the quickstart, in a real JupyterLab: the module loads without
anywidget's deprecation warning, a card from beyond the anchors' neighbourhoods says so, the help
pushes the map down rather than covering it, plotly's toolbar leaves the F1 panel's title clear,
focus after an undo, '/' replaces the last query, labelling a selection from the side panel as one
undoable event, and a kernel restart that brings back the drafts on screen, every iteration of the
curves and a status line whose parts fit its total.

The tests of this module run in order on one notebook, as one labelling session would.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from .lab_driver import CURVES_JS, KERNEL_IDLE, open_notebook, probe, run_all, write_notebook

SETUP = textwrap.dedent("""
    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=1000)
    labels = list(data.labels)
    eye = [i for i, c in enumerate(labels) if c == "eye"][:2]
    other = [i for i, c in enumerate(labels) if c == "other"][:2]
    w = aw.Labeller(list(data.texts), classes=["other", "eye"], minority=["eye"], store="edges-labels.db",
                    seed_labels={**dict.fromkeys(eye, "eye"), **dict.fromkeys(other, "other")})
    w
""")
CONSOLE: list[str] = []
STATUS = re.compile(r"in (\d+\.\d+) s \(training (\d+\.\d+) s, selecting (\d+\.\d+) s\)")


@pytest.fixture(scope="module")
def page(jupyter, browser, shots):
    write_notebook(jupyter.root / "edges.ipynb", [SETUP])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("console", lambda m: CONSOLE.append(m.text))
    page.set_default_timeout(60_000)
    open_notebook(page, jupyter, "edges.ipynb")
    run_all(page)
    page.wait_for_selector('.aw-root[data-phase="ready"] .aw-card', timeout=240_000)
    yield page
    page.screenshot(path=str(shots / "edges-end.png"))
    context.close()


def root(page):
    return page.locator(".aw-root").first


def card(page, i):
    return root(page).locator(f'.aw-card[data-index="{i}"]')


def focused_index(page):
    return int(root(page).locator(".aw-card.aw-focused").get_attribute("data-index"))


def boxes_overlap(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def status_parts(page):
    text = root(page).locator(".aw-status-text").inner_text()
    found = STATUS.search(text)
    assert found, text
    return text, [float(x) for x in found.groups()]


def test_the_module_loads_without_anywidget_s_deprecation_warning(page):
    assert root(page).locator(".aw-card").count() > 0
    assert not [m for m in CONSOLE if "Deprecation Warning" in m and "anywidget" in m], CONSOLE


def test_a_card_from_beyond_the_anchors_says_so_and_one_an_anchor_retrieved_quotes_it(page):
    # the default session: on a pool of 1,000 the draw from beyond the anchors' neighbourhoods
    # takes in most of it, so a batch holds cards of both kinds
    kernel = probe(page, "[(c['id'], c['outside'], c['anchor'] is not None) for c in w.batch]")
    assert any(outside for _, outside, _ in kernel) and any(anchored for _, _, anchored in kernel), kernel
    for item, outside, anchored in kernel:
        c = root(page).locator(f'.aw-card[data-id="{item}"]')
        beyond = "beyond the anchors' neighbourhoods" in c.locator(".aw-why").inner_text()
        assert beyond == outside, item
        assert c.locator(".aw-score").count() == (0 if outside else 1), item
        assert c.locator(".aw-anchor-text").count() == (1 if anchored else 0), item


def test_the_help_pushes_the_map_down_instead_of_covering_it(page, shots):
    page.wait_for_selector('.aw-map-view[data-status="ready"] .aw-map-plot[data-points]', timeout=240_000)
    root(page).locator(".aw-help-button").click()
    # measured together: a scroll in between would move one and not the other
    boxes = page.evaluate(
        """() => Object.fromEntries(['.aw-help', '.aw-map-view', '.aw-cards-view'].map(sel => {
            const r = document.querySelector('.aw-root ' + sel).getBoundingClientRect();
            return [sel, {x: r.x, y: r.y, width: r.width, height: r.height}];
        }))"""
    )
    root(page).screenshot(path=str(shots / "edges-help-open.png"))
    for part in (".aw-map-view", ".aw-cards-view"):
        assert not boxes_overlap(boxes[".aw-help"], boxes[part]), f"the help covers {part}: {boxes}"
    root(page).locator(".aw-help-button").click()
    assert root(page).locator(".aw-help").is_hidden()


def test_plotly_s_toolbar_leaves_the_f1_panel_s_title_clear(page):
    curves = root(page).locator(".aw-curves-plot")
    curves.wait_for()
    curves.hover()  # the toolbar shows on hover
    boxes = page.evaluate(
        """() => {
            const plot = document.querySelector('.aw-root .aw-curves-plot');
            const box = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; };
            const title = [...plot.querySelectorAll('.annotation-text')].find(t => t.textContent.includes('F1'));
            return {toolbar: box(plot.querySelector('.modebar')), title: box(title)};
        }"""
    )
    assert boxes["toolbar"]["width"] > 0 and boxes["title"]["width"] > 0, boxes
    assert not boxes_overlap(boxes["toolbar"], boxes["title"]), boxes


def test_after_undo_the_focus_is_on_the_undone_card(page):
    card(page, 0).locator(".aw-text").click()  # focus in the widget, on card 0
    page.keyboard.press("1")
    card(page, 0).and_(page.locator('[data-answer="other"]')).wait_for()
    assert focused_index(page) == 1
    page.keyboard.press("u")
    card(page, 0).and_(page.locator('[data-answer=""]')).wait_for()
    assert focused_index(page) == 0, "the undone card, to answer again"


def test_when_undo_empties_the_stack_the_next_key_still_works(page):
    page.keyboard.press("2")
    card(page, 0).and_(page.locator('[data-answer="eye"]')).wait_for()
    undo = root(page).locator(".aw-undo")
    undo.click()
    root(page).locator(".aw-undo[disabled]").wait_for()
    assert page.evaluate("() => document.querySelector('.aw-root').contains(document.activeElement)")
    page.keyboard.press("1")  # reaches the widget: card 0 is answered
    card(page, 0).and_(page.locator('[data-answer="other"]')).wait_for()
    page.keyboard.press("u")
    card(page, 0).and_(page.locator('[data-answer=""]')).wait_for()


def test_slash_selects_the_last_query_so_typing_replaces_it(page):
    search = root(page).locator(".aw-search")
    if search.get_attribute("open") is None:
        search.locator(".aw-search-title").click()
    box = root(page).locator(".aw-search-input")
    box.click()
    page.keyboard.type("fracture of the femur")
    page.keyboard.press("Enter")
    root(page).locator(".aw-search-note", has_text="nearest to").wait_for()
    card(page, 0).locator(".aw-text").click()  # back to the cards
    page.keyboard.press("/")
    page.keyboard.type("cataract")
    assert box.input_value() == "cataract"
    page.keyboard.press("Escape")  # leaves the box, keeping the query (a search box would clear it)
    assert box.input_value() == "cataract"
    assert not page.evaluate("() => document.activeElement.matches('.aw-search-input')")


def test_a_selection_is_labelled_from_the_side_panel_as_one_event_and_undone(page, shots):
    free = probe(
        page,
        "sorted(set(range(len(w.loop.embeddings))) - set(w.loop.labels) - {c['id'] for c in w.batch}"
        " - set(w.loop.skipped_ids.tolist()))[:30]",
    )
    on_screen = [int(x) for x in root(page).locator(".aw-card").evaluate_all("els => els.map(e => e.dataset.id)")]
    ids = [*free, on_screen[0]]  # one card of the batch: left as it is
    before = probe(page, "len(w.loop.labels)")
    root(page).evaluate("(el, ids) => el.dispatchEvent(new CustomEvent('anchoral-select', {detail: {ids}}))", ids)
    panel = root(page).locator(".aw-selection")
    assert panel.locator(".aw-selection-count").inner_text() == "31 texts selected"
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.aw-root .aw-selection-text')].some(li => li.textContent.endsWith('…'))"
    )
    assert panel.locator(".aw-selection-text").count() == 20
    panel.screenshot(path=str(shots / "selection-panel.png"))
    panel.locator('.aw-selection-label[data-label="other"]').click()
    panel.locator(".aw-selection-note", has_text="labelled 30 texts other").wait_for()
    assert "1 in the batch on screen" in panel.locator(".aw-selection-note").inner_text()
    last = probe(
        page, "{'source': w.loop.events[-1].source, 'n': len(w.loop.events[-1].ids), 'labels': len(w.loop.labels)}"
    )
    assert last == {"source": "map", "n": 30, "labels": before + 30}
    panel.locator(".aw-selection-undo").click()
    panel.locator(".aw-selection-note", has_text="took back 30 texts").wait_for()
    assert probe(page, "len(w.loop.labels)") == before


def restart_kernel(page):
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    run_all(page)


def test_a_kernel_restart_brings_back_the_drafts_every_iteration_of_the_curves_and_a_fitting_status(page, shots):
    for done in (1, 2):
        card(page, 0).locator(".aw-text").click()
        page.keyboard.press("r")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'.aw-root[data-phase="ready"][data-iteration="{done}"] .aw-card', timeout=120_000)
    # every iteration's F1 estimate and predicted subpool share, the batch on screen's included
    page.wait_for_function(
        """() => { const p = document.querySelector('.aw-root .aw-curves-plot');
                   const t = (p?.data ?? []).find(t => t.uid === 'f1:minority:estimate');
                   return t && t.y.filter(v => v !== null).length === 3; }""",
        timeout=120_000,
    )
    before = page.evaluate(CURVES_JS)
    card(page, 0).locator(".aw-text").click()
    page.keyboard.press("2")
    page.keyboard.press("s")
    card(page, 1).and_(page.locator('[data-answer="skip"]')).wait_for()
    drafts = root(page).locator(".aw-card").evaluate_all("els => els.map(e => [e.dataset.id, e.dataset.answer])")

    restart_kernel(page)
    page.wait_for_selector('.aw-root[data-phase="ready"][data-iteration="2"] .aw-card', timeout=240_000)
    root(page).locator('.aw-card[data-answer="skip"]').wait_for()
    after = root(page).locator(".aw-card").evaluate_all("els => els.map(e => [e.dataset.id, e.dataset.answer])")
    assert after == drafts, "the answers given but not submitted are back on their cards"
    page.wait_for_function(
        """() => { const p = document.querySelector('.aw-root .aw-curves-plot');
                   const t = (p?.data ?? []).find(t => t.uid === 'f1:minority:estimate');
                   return t && t.y.filter(v => v !== null).length >= 3; }""",
        timeout=120_000,
    )
    curves = page.evaluate(CURVES_JS)
    for uid in ("f1:minority:estimate", "minority:subpool:predicted"):
        assert sum(v is not None for v in curves[uid]) == sum(v is not None for v in before[uid]) == 3, uid
    text, (total, train, select) = status_parts(page)
    assert round(train * 100) + round(select * 100) <= round(total * 100), text  # as shown, in hundredths
    root(page).screenshot(path=str(shots / "edges-after-restart.png"))
