"""The comparison: same start and seed for every filter, per-iteration snapshots, minority and
hidden clusters found, F1 estimated or measured."""

import numpy as np
import pytest
from comparisons import LOOP, toy_comparison, toy_pool

from anchoral_widget.errors import InputError
from anchoral_widget.replay.compare import compare
from anchoral_widget.replay.comparison import Comparison


@pytest.fixture(scope="module")
def toy():
    return toy_pool()


@pytest.fixture(scope="module")
def comparison(toy):
    return toy_comparison(toy)


def test_every_filter_runs_from_the_same_start(comparison, toy):
    assert comparison.filters == ["anchoral", "randsub", "none"]
    initial = set(toy.initial_ids(30).tolist())
    for run in comparison.runs.values():
        assert set(run.initial_ids.tolist()) == initial
        labelled = set(run.loop.labelled_ids.tolist())
        assert initial <= labelled and len(labelled) == 30 + 50
        assert len(run.loop.history) == 5
        assert run.loop.config["subpool_size"] == 100
        assert run.loop.config["outside_sample"] == 0, "every filter chooses among M items"


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


def test_comparison_is_exported():
    import anchoral_widget

    assert anchoral_widget.compare is compare and anchoral_widget.load_toy is not None
    assert isinstance(Comparison, type)
