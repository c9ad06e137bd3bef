"""The teaching replay: same start and seed for every filter, per-iteration snapshots, minority
and hidden clusters found, the side-by-side figures and the replay widget."""

import numpy as np
import pytest

from anchoral_widget.data.toy import load_toy
from anchoral_widget.errors import InputError
from anchoral_widget.replay.compare import Comparison, compare
from anchoral_widget.views.plots import map_declarations

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
    assert [a.text for a in fig.layout.annotations][:3] == [comparison._map_title(n, 3) for n in comparison.filters]
    assert all(s.x0 == 3 for s in fig.layout.shapes)


def test_comparison_is_exported():
    import anchoral_widget

    assert anchoral_widget.compare is compare and anchoral_widget.load_toy is not None
    assert isinstance(Comparison, type)
