"""The teaching replay: same start and seed for every filter, per-iteration snapshots, minority
and hidden clusters found, the side-by-side figures and the replay widget."""

import numpy as np
import pytest

from anchoral_widget.data.toy import load_toy
from anchoral_widget.errors import InputError
from anchoral_widget.replay.compare import compare
from anchoral_widget.replay.comparison import Comparison
from anchoral_widget.replay.replayfigure import run_map_title
from anchoral_widget.views.styles import map_declarations

LOOP = dict(batch_size=10, anchors_per_class=3, neighbours=20, subpool_size=100, index="exact")


@pytest.fixture(scope="module")
def toy():
    return load_toy(n_majority=900, cluster_size=25, seen_size=30)


@pytest.fixture(scope="module")
def comparison(toy):
    return compare(
        toy.embeddings,
        toy.labels,
        classes=toy.classes,
        minority=toy.minority,
        initial_ids=toy.initial_ids(30),
        coords=toy.coords,
        groups=toy.clusters,
        budget=50,
        **LOOP,
    )


def test_every_filter_runs_from_the_same_start(comparison, toy):
    assert comparison.filters == ["anchoral", "randsub", "none"]
    initial = set(toy.initial_ids(30).tolist())
    for run in comparison.runs.values():
        assert set(run.initial_ids.tolist()) == initial
        labelled = set(run.loop.labelled_ids.tolist())
        assert initial <= labelled and len(labelled) == 30 + 50
        assert len(run.loop.history) == 5
        assert run.loop.config["subpool_size"] == 100


def test_same_seed_same_runs_other_seed_other_runs(comparison, toy):
    again = compare(
        toy.embeddings,
        toy.labels,
        initial_ids=toy.initial_ids(30),
        filters=("anchoral",),
        budget=50,
        estimate_f1=False,
        **LOOP,
    )
    assert [r.batch_ids for r in again.runs["anchoral"].loop.history] == [
        r.batch_ids for r in comparison.runs["anchoral"].loop.history
    ]
    other = compare(
        toy.embeddings,
        toy.labels,
        initial_ids=toy.initial_ids(30),
        filters=("randsub",),
        budget=50,
        estimate_f1=False,
        seed=5,
        **LOOP,
    )
    assert [r.batch_ids for r in other.runs["randsub"].loop.history] != [
        r.batch_ids for r in comparison.runs["randsub"].loop.history
    ]


def test_default_classes_minority_and_initial_set(toy):
    c = compare(toy.embeddings, toy.labels, filters=("randsub",), budget=20, initial_size=30, estimate_f1=False, **LOOP)
    assert c.classes == ["majority", "minority"] and c.minority == ["minority"]
    initial = c.runs["randsub"].initial_ids
    assert len(initial) == 30 and (toy.labels[initial] == "minority").sum() == 5


def test_snapshot_of_an_iteration(comparison, toy):
    run = comparison.runs["anchoral"]
    record = run.loop.history[2]
    s = comparison.state("anchoral", 2)
    assert s.iteration == 2
    assert s.batch.ids.tolist() == record.batch_ids
    assert s.subpool.ids.tolist() == record.subpool_ids and np.allclose(s.subpool.values, record.subpool_scores)
    assert s.anchors.ids.tolist() == record.anchor_ids
    # labelled before iteration 2: the initial set and the batches of iterations 0 and 1
    expected = set(run.initial_ids.tolist()) | set(run.loop.history[0].batch_ids) | set(run.loop.history[1].batch_ids)
    assert set(s.labelled.ids.tolist()) == expected
    assert not set(s.batch.ids.tolist()) & expected
    classes = np.array(comparison.classes)[s.labelled.values]
    assert (classes == toy.labels[s.labelled.ids]).all()
    assert np.allclose(s.labelled.xy, toy.coords[s.labelled.ids])  # the toy's map is its coordinates
    # the "none" filter's subpool is the whole pool: no subpool layer
    assert len(comparison.state("none", 0).subpool) == 0
    # iterations past the end show the last one
    assert comparison.state("anchoral", 99).iteration == 4


def test_minority_and_hidden_clusters_found(comparison, toy):
    assert comparison.hidden_groups == [1, 2, 3, 4, 5]
    for name, run in comparison.runs.items():
        found = comparison.minority_found(name)
        batches = [np.asarray(r.batch_ids) for r in run.loop.history]
        assert found.tolist() == np.cumsum([(toy.labels[b] == "minority").sum() for b in batches]).tolist()
        groups = comparison.groups_found(name)
        assert np.all(np.diff(groups) >= 0) and groups[-1] <= 5
        labelled_new = np.concatenate(batches)
        assert groups[-1] == len(set(toy.clusters[labelled_new].tolist()) & {1, 2, 3, 4, 5})
    rows = {r["filter"]: r for r in comparison.summary()}
    assert rows["anchoral"]["minority_found"] == comparison.minority_found("anchoral")[-1]
    assert rows["none"]["hidden_groups_found"].endswith("/5")


def test_without_groups_there_is_nothing_hidden(toy):
    c = compare(
        toy.embeddings,
        toy.labels,
        initial_ids=toy.initial_ids(30),
        filters=("randsub",),
        budget=20,
        estimate_f1=False,
        **LOOP,
    )
    assert c.hidden_groups == []
    with pytest.raises(InputError):
        c.groups_found("randsub")


def test_f1_is_estimated_without_a_test_set_and_measured_with_one(comparison, toy):
    curves = comparison.curves("randsub")
    assert curves.f1_estimated.all() and np.isfinite(curves.minority_f1).all()
    estimate = comparison.runs["randsub"].loop.history[0].extra["f1_estimate"]
    assert estimate["estimate"] is True and estimate["n"] == 30
    test_ids = np.arange(0, len(toy.labels), 7)
    measured = compare(
        toy.embeddings,
        toy.labels,
        initial_ids=toy.initial_ids(30),
        filters=("randsub",),
        budget=20,
        test=(toy.embeddings[test_ids], toy.labels[test_ids]),
        **LOOP,
    )
    c = measured.curves("randsub")
    assert not c.f1_estimated.any() and np.isfinite(c.minority_f1).all()
    assert "f1_estimate" not in measured.runs["randsub"].loop.history[0].extra


def test_bad_input(toy):
    with pytest.raises(InputError):
        compare(toy.embeddings, toy.labels[:-1], budget=10, **LOOP)
    with pytest.raises(InputError):
        compare(toy.embeddings, toy.labels, filters=(), budget=10, **LOOP)


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


def test_comparison_is_exported():
    import anchoral_widget

    assert anchoral_widget.compare is compare and anchoral_widget.load_toy is not None
    assert isinstance(Comparison, type)


# ---- a researcher's view: what the strategy saw, in tables, on hover and on click -------------


@pytest.fixture(scope="module")
def with_texts(toy):
    texts = [f"item {i} <of {toy.labels[i]}>" for i in range(len(toy.labels))]
    return compare(
        toy.embeddings,
        toy.labels,
        classes=toy.classes,
        minority=toy.minority,
        initial_ids=toy.initial_ids(30),
        coords=toy.coords,
        groups=toy.clusters,
        budget=50,
        texts=texts,
        estimate_f1=False,
        **LOOP,
    )


def test_the_model_is_fitted_again_as_the_loop_fitted_it(with_texts):
    """The uncertainty of iteration t comes from the model fitted on the labelled set of t: the
    entropy strategy's batch is exactly its top of the subpool, in batch order."""
    for t in (0, 2, 4):
        record = with_texts.runs["anchoral"].loop.history[t]
        u = with_texts.uncertainty("anchoral", t)
        assert set(u) == set(record.subpool_ids)
        ranked = sorted(record.subpool_ids, key=lambda i: -u[i])
        assert sorted(ranked[:10]) == sorted(record.batch_ids)
        assert [u[i] for i in record.batch_ids] == sorted((u[i] for i in record.batch_ids), reverse=True)
    assert with_texts.uncertainty_name("anchoral") == "entropy"


def test_subpool_and_batch_tables_say_why_the_batch_was_picked(with_texts):
    record = with_texts.runs["anchoral"].loop.history[2]
    by_score = with_texts.subpool_table("anchoral", 2, top=None)
    assert len(by_score) == len(record.subpool_ids)
    assert list(by_score.columns) == [
        "subpool rank",
        "id",
        "score",
        "uncertainty (entropy)",
        "P(minority)",
        "batch rank",
        "label (oracle)",
        "text",
        "retrieved by (anchor)",
    ]
    assert by_score["subpool rank"].tolist() == list(range(1, len(by_score) + 1))
    assert list(by_score["score"]) == sorted(by_score["score"], reverse=True)
    # by uncertainty, the batch comes first, in its own order: why these 10 of the 100
    by_uncertainty = with_texts.subpool_table("anchoral", 2, by="uncertainty", top=12)
    assert by_uncertainty["batch rank"].tolist()[:10] == list(range(1, 11))
    assert by_uncertainty["batch rank"].isna().tolist()[10:] == [True, True]
    assert by_uncertainty["id"].tolist()[:10] == record.batch_ids
    batch = with_texts.batch_table("anchoral", 2)
    assert batch["id"].tolist() == record.batch_ids and batch["batch rank"].tolist() == list(range(1, 11))
    assert list(batch.columns)[:2] == ["batch rank", "id"]
    assert batch["label (oracle)"].tolist() == record.batch_labels
    assert all(w.split(" ")[0][1:].isdigit() for w in batch["retrieved by (anchor)"])
    anchors = {int(w.split(" ")[0][1:]) for w in batch["retrieved by (anchor)"]}
    assert anchors <= set(record.anchor_ids)
    # one name for one thing: the anchor that retrieved an item, in both tables
    assert "retrieved by (anchor)" in by_score.columns and not {"nearest anchor", "via anchor"} & set(batch.columns)
    table = with_texts.anchors_table("anchoral", 2)
    assert sorted(table["anchor"]) == sorted(record.anchor_ids)
    assert table["batch items it retrieved"].sum() == 10
    # the full pool has no subpool to show; its batch has no subpool rank
    with pytest.raises(InputError, match="whole pool"):
        with_texts.subpool_table("none", 2)
    assert "subpool rank" not in with_texts.batch_table("none", 2).columns
    with pytest.raises(InputError, match="by must be"):
        with_texts.subpool_table("anchoral", 2, by="text")


def test_a_point_tells_all_the_map_knows_of_it(with_texts):
    record = with_texts.runs["anchoral"].loop.history[3]
    item = record.batch_ids[1]
    point = with_texts.point("anchoral", 3, item)
    assert point["layers"] == ["subpool", "batch"] and point["batch rank"] == "2 of 10"
    assert point["subpool rank"].endswith(f" of {len(record.subpool_ids)}") and 0 <= point["score"] <= 1
    assert point["uncertainty (entropy)"] == pytest.approx(with_texts.uncertainty("anchoral", 3)[item], abs=1e-3)
    assert point["retrieved by (anchor)"].startswith("#") and point["text"].startswith(f"item {item} ")
    anchor = with_texts.point("anchoral", 3, record.anchor_ids[0])
    assert anchor["layers"] == ["labelled", "anchors"] and "batch rank" not in anchor
    with pytest.raises(InputError, match="no pool item"):
        with_texts.point("anchoral", 3, 10**6)
    with pytest.raises(InputError, match="no run 'seals'"):
        with_texts.point("seals", 3, 0)


def test_describe_says_what_this_run_found(with_texts):
    words = with_texts.describe().splitlines()
    found = {n: int(with_texts.minority_found(n)[-1]) for n in with_texts.filters}
    first = max(found, key=found.get)
    assert words[0].startswith("Minority items found with 50 labels: " + f"{first} {found[first]}")
    for name, n in found.items():
        assert f"{name} {n}" in words[0]
    assert words[1].startswith("Hidden clusters reached (of 5): ")
    assert f"(the whole pool: {with_texts.pool_share:.1%})" in words[2] and "none" not in words[2]


def test_the_inspector_shows_a_clicked_point_and_follows_the_slider(with_texts):
    from plotly.callbacks import Points

    box = with_texts.inspect("anchoral", 1)
    controls, fig, details = box.children
    slider = controls.children[1]
    assert slider.value == 1 and slider.max == 4
    traces = {t.name: t for t in fig.data}
    assert traces["pool sample"].hoverinfo == "skip"  # the background answers no hover
    assert fig._config.get("responsive") and fig.layout.autosize and fig.layout.width is None
    batch = traces["batch"]
    assert list(batch.customdata) == with_texts.state("anchoral", 1).batch.ids.tolist()
    # whichever layer plotly's hover picks for a batch item (its subpool point lies under the
    # ring), the line is the same, and it names the batch rank and the model's uncertainty
    subpool = traces["subpool (AnchorAL score)"]
    item = int(batch.customdata[0])
    line = batch.hovertext[0]
    assert subpool.hovertext[list(subpool.customdata).index(item)] == line
    assert "batch rank 1 of 10" in line and "uncertainty" in line and "&lt;of" in line
    batch._dispatch_on_click(Points(point_inds=[0], xs=[0], ys=[0], trace_name="batch", trace_index=0), None)
    assert "batch rank" in details.value and f"item {item} &lt;of" in details.value
    slider.value = 3
    assert list(fig.data[[t.name for t in fig.data].index("batch")].customdata) == (
        with_texts.state("anchoral", 3).batch.ids.tolist()
    )
    assert "iteration 3" in fig.layout.title.text and "Click" in details.value


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
