"""The teaching replay: every run's map side by side with the hidden minority, drawn by the one
builder, moved together by the slider, paused where it is, fitted to its output area."""

import numpy as np
import pytest
from comparisons import toy_comparison, toy_pool

from anchoral_widget.replay.replayfigure import run_map_title
from anchoral_widget.views.styles import map_declarations


@pytest.fixture(scope="module")
def toy():
    return toy_pool()


@pytest.fixture(scope="module")
def comparison(toy):
    return toy_comparison(toy)


def test_replay_figure_shows_maps_side_by_side_and_the_hidden_minority(comparison, toy):
    fig = comparison.replay_figure(1)
    uids = [t.uid for t in fig.data]
    assert uids.count("batch") == 3 and uids.count("truth") == 3 and uids.count("pool") == 3
    truth = next(t for t in fig.data if t.uid == "truth")
    labelled = set(comparison.state("anchoral", 1).labelled.ids.tolist())
    expected = set(np.flatnonzero(toy.labels == "minority").tolist()) - labelled
    assert set(truth.customdata.tolist()) == expected
    batches = [list(t.customdata) for t in fig.data if t.uid == "batch"]
    assert batches == [comparison.state(n, 1).batch.ids.tolist() for n in comparison.filters]
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("anchoral:") and "hidden clusters" in titles[0]
    assert titles[3:5] == ["minority found", "hidden clusters found"]
    assert "CV estimate" in titles[-1]
    assert len(fig.layout.shapes) == 4 and all(s.x0 == 1 for s in fig.layout.shapes)
    # one line per filter in every progress panel, found counts as computed
    found = next(t for t in fig.data if t.name == "anchoral")  # the first panel's line
    assert list(found.y) == comparison.minority_found("anchoral").tolist()


def test_replay_maps_are_drawn_by_the_one_builder(comparison):
    """The replay's maps are the widget's and map_figure's: the same declared traces (stars for
    anchors, rings for the batch, one renderer so the order holds), one legend for all maps."""
    fig = comparison.replay_figure(2)
    names = comparison.filters
    declared = [
        {
            d["trace"]["uid"]: d["trace"]
            for d in map_declarations(
                comparison.classes,
                comparison.minority,
                scored=comparison.state(name, 2).subpool.values is not None,
                truth=True,
                pool_hover=False,
            )
        }
        for name in names
    ]
    assert declared[0]["subpool"] != declared[1]["subpool"]  # anchoral scores its subpool, randsub not
    maps = [t for t in fig.data if t.uid in declared[0]]
    assert [t.uid for t in maps] == [uid for d in declared for uid in d]  # every layer of each map, in order
    for n, t in enumerate(maps):
        trace = t.to_plotly_json()
        expected = declared[n // len(declared[0])][t.uid]
        marker = {k: v for k, v in trace["marker"].items() if k != "color" or "color" in expected["marker"]}
        assert marker == {k: v for k, v in expected["marker"].items() if k not in ("showscale", "colorbar")}
        assert trace["type"] == expected["type"] == "scattergl" and trace["legendgroup"] == t.uid
    assert [t.uid for t in maps if t.showlegend] == list(declared[0])  # the first map's layers only
    anchors = [t for t in maps if t.uid.startswith("anchors-")]
    assert {t.marker.symbol for t in anchors} == {"star"}


def test_replay_moves_every_map_with_the_slider(comparison):
    box = comparison.replay(0)
    controls, fig = box.children
    slider = controls.children[1]
    assert slider.max == comparison.iterations - 1
    slider.value = 3
    batches = [list(t.customdata) for t in fig.data if t.name == "batch"]
    assert batches == [comparison.state(n, 3).batch.ids.tolist() for n in comparison.filters]
    subpools = [t for t in fig.data if t.name.startswith("subpool")]
    assert list(subpools[0].marker.color) == pytest.approx(comparison.state("anchoral", 3).subpool.values.tolist())
    assert [a.text for a in fig.layout.annotations][:3] == [run_map_title(comparison, n, 3) for n in comparison.filters]
    assert all(s.x0 == 3 for s in fig.layout.shapes)


def test_stop_pauses_the_replay_where_it_is(comparison):
    box = comparison.replay(0)
    controls, fig = box.children
    play, slider, back, forward = controls.children
    # playing moves the slider; what the front end sends on stop (playing off, value back to
    # the start) leaves it where it was
    play.set_state({"playing": True})
    play.set_state({"value": 1})
    play.set_state({"value": 2})
    assert slider.value == 2
    play.set_state({"playing": False})
    play.set_state({"value": 0})
    assert slider.value == 2 and play.value == 2
    forward.click()
    assert slider.value == 3 and play.value == 3
    back.click()
    back.click()
    assert slider.value == 1
    assert [a.text for a in fig.layout.annotations][:3] == [run_map_title(comparison, n, 1) for n in comparison.filters]


def test_replay_fills_its_output_area_and_keeps_titles_apart(comparison):
    fig = comparison.replay(1).children[1]
    assert fig.layout.autosize and fig.layout.width is None and fig._config.get("responsive")
    titles = [a.text for a in fig.layout.annotations]
    assert all(t.count("<br>") == 1 for t in titles[:3])  # a map's title in two short lines
    assert max(len(line) for t in titles[:3] for line in t.split("<br>")) <= 30
    share = next(t for t in fig.data if t.name.startswith("whole pool"))
    assert list(share.y) == [pytest.approx(comparison.pool_share)] * 2 and share.line.dash == "dot"


def test_a_new_view_is_asked_to_fit_its_output_area(comparison, monkeypatch):
    """plotly's widget draws before its output area has a width (700 px then): on a view's first
    report of its traces, and on a report repeated by a view drawn later, the kernel asks the
    front end to fit the container, at once and again a moment later."""
    import time

    from anchoral_widget.replay import viewers

    monkeypatch.setattr(viewers, "FIT_AGAIN_SECONDS", (0.05, 0.1))
    fig = comparison.replay(0).children[1]
    sent = []
    monkeypatch.setattr(fig, "_send_relayout_msg", lambda data, **kw: sent.append(data))

    def report(edit):  # what a view sends after drawing, or after an edit it drew
        fig._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": edit}

    report(0)
    time.sleep(0.4)
    assert sent == [{"autosize": True}] * 3
    report(1)  # an edit the view drew: nothing to fit
    time.sleep(0.4)
    assert len(sent) == 3
    report(1)  # the same edit again: another view, drawn later
    time.sleep(0.4)
    assert len(sent) == 6
    # a window resize: plotly fits the plot itself and says so; the kernel asks again later, in
    # case the output area had not been laid out anew yet
    fig._js2py_relayout = {"relayout_data": {"autosize": True}, "source_view_id": "v"}
    time.sleep(0.4)
    assert sent[6:] == [{"autosize": True}] * 2
    fig._js2py_relayout = {"relayout_data": {"xaxis.range[0]": 1.0}, "source_view_id": "v"}  # a zoom
    time.sleep(0.4)
    assert sent.count({"autosize": True}) == 8, "a zoom asks for no fit"
