import numpy as np
import pytest

from anchoral_widget.engine.loop.active import SEED_ITERATION, ActiveLoop
from anchoral_widget.errors import EmptyPoolError, InputError


def make_loop(X, **kw):
    defaults = dict(
        classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=200, index="exact", seed=0
    )
    defaults.update(kw)
    return ActiveLoop(X, **defaults)


def seeded(X, y, **kw):
    loop = make_loop(X, **kw)
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:30]]
    loop.label(init, y[init])
    return loop


def test_propose_returns_a_batch_from_the_subpool_with_timings(pool):
    X, y, _ = pool
    loop = seeded(X, y, outside_sample=0)  # the paper's subpool
    p = loop.propose()
    assert len(p.batch_ids) == 10 and set(p.batch_ids) <= set(p.subpool_ids)
    assert len(p.subpool_ids) == 200 and len(p.anchor_ids) == 13  # 3 minority + 10 majority
    assert p.batch_proba.shape == (10, 2) and np.allclose(p.batch_proba.sum(1), 1)
    assert set(p.seconds) == {"train", "subpool", "strategy", "total"}
    assert p.seconds["total"] == pytest.approx(sum(p.seconds[k] for k in ("train", "subpool", "strategy")))
    assert loop.propose() is p, "asking again returns the pending proposal"


def test_answering_a_batch_finishes_an_iteration(pool):
    X, y, _ = pool
    loop = seeded(X, y)
    p = loop.propose()
    loop.label(p.batch_ids[:4], y[p.batch_ids[:4]])
    assert loop.iteration == 0 and loop.propose() is p
    loop.skip(p.batch_ids[4:5])
    loop.label(p.batch_ids[5:], y[p.batch_ids[5:]])
    assert loop.iteration == 1 and loop.pending is None
    record = loop.history[0]
    assert record.batch_ids == p.batch_ids[[0, 1, 2, 3, 5, 6, 7, 8, 9]].tolist()
    assert record.skipped_ids == [int(p.batch_ids[4])]
    assert record.labelled_count == 33
    assert loop.label_time(p.batch_ids[0])[0] == 0
    assert loop.label_time(np.flatnonzero(y == "rare")[0])[0] == SEED_ITERATION
    nxt = loop.propose()
    assert nxt.iteration == 1 and not np.isin(nxt.batch_ids, p.batch_ids).any()


def test_same_state_same_proposal(pool):
    X, y, _ = pool
    a, b = seeded(X, y), seeded(X, y)
    assert np.array_equal(a.propose().batch_ids, b.propose().batch_ids)
    c = seeded(X, y, seed=1)
    assert not np.array_equal(a.propose().batch_ids, c.propose().batch_ids)


def test_undo_restores_the_previous_state_exactly(pool):
    X, y, _ = pool
    loop = seeded(X, y)
    p0 = loop.propose()
    labelled_before = loop.labels.copy()
    loop.label(p0.batch_ids, y[p0.batch_ids])
    p1 = loop.propose()
    event = loop.undo()
    assert event.kind == "label" and loop.labels == labelled_before
    assert loop.iteration == 0 and loop.pending is p0 and loop.history == []
    assert loop.propose() is p0
    # Re-answering gives the same next proposal as before the undo.
    loop.label(p0.batch_ids, y[p0.batch_ids])
    assert np.array_equal(loop.propose().batch_ids, p1.batch_ids)


def test_undo_of_a_skip_and_of_seed_labels(pool):
    X, y, _ = pool
    loop = seeded(X, y)
    p = loop.propose()
    loop.skip(p.batch_ids[:2])
    assert loop.undo().kind == "skip" and loop.skipped_ids.size == 0 and loop.unlabelled_count == len(X) - 33
    loop.undo()  # the seed labels themselves
    assert loop.labels == {} and loop.pending is None, "a proposal made after the undone call is stale"
    assert loop.undo() is None


def test_labelling_a_skipped_item_and_undoing_it(pool):
    X, y, _ = pool
    loop = seeded(X, y)
    loop.skip([500])
    loop.label([500], ["other"])
    assert 500 in loop.labels and loop.skipped_ids.size == 0
    loop.undo()
    assert 500 not in loop.labels and loop.skipped_ids.tolist() == [500]


def test_skipped_items_never_come_back(pool):
    X, y, _ = pool
    loop = seeded(X, y, pool_filter="none", strategy="random")
    skipped = set()
    for _ in range(5):
        p = loop.propose()
        assert not skipped & set(p.batch_ids.tolist())
        loop.skip(p.batch_ids)
        skipped |= set(p.batch_ids.tolist())


def test_bad_input_names_the_problem_and_changes_nothing(pool):
    X, y, _ = pool
    loop = seeded(X, y)
    before = loop.labels.copy()
    cases = [
        (([5000], ["other"]), "out of range"),
        (([1999, 1998], ["other"]), "2 ids but 1 labels"),
        (([700], ["eye"]), "'eye' is not among the classes"),
        (([int(next(iter(before)))], ["other"]), "already labelled"),
        (([700, 700], ["other", "other"]), "twice"),
        (([1.5], ["other"]), "integers"),
    ]
    for (ids, labels), message in cases:
        with pytest.raises(InputError, match=message):
            loop.label(ids, labels)
    assert loop.labels == before
    with pytest.raises(InputError, match="already labelled or skipped"):
        loop.skip([next(iter(before))])


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(classes=["a", "a"]), "duplicate classes"),
        (dict(classes=["a"]), "at least two classes"),
        (dict(minority=["eye"]), "minority class 'eye'"),
        (dict(pool_filter="seal"), "unknown pool filter"),
        (dict(strategy="bald"), "unknown strategy"),
        (dict(batch_size=3000), "fewer than one batch"),
        (dict(subpool_size=3000), "fewer than subpool_size"),
        (dict(neighbours=3000), "fewer than neighbours"),
    ],
)
def test_bad_configuration(pool, kw, message):
    X, _, _ = pool
    with pytest.raises(InputError, match=message):
        make_loop(X, **kw)


def test_nan_embeddings_are_refused(pool):
    X, _, _ = pool
    X = X.copy()
    X[3, 0] = np.inf
    with pytest.raises(InputError, match="NaN or inf"):
        make_loop(X)


def test_cold_start_and_single_class(pool):
    X, _y, _ = pool
    loop = make_loop(X)
    p = loop.propose()  # nothing labelled: random subpool, random batch
    assert len(p.subpool_ids) == 200 and len(p.anchor_ids) == 0 and len(p.batch_ids) == 10
    loop.label(p.batch_ids, ["other"] * 10)
    p = loop.propose()  # one class only: still a batch, anchors from that class
    assert len(p.batch_ids) == 10 and set(p.anchor_classes.tolist()) == {0}


def test_the_pool_runs_out(pool):
    X, _y, _ = pool
    small = X[:40]
    loop = make_loop(small, pool_filter="none", batch_size=15)
    loop.label(np.arange(3), ["rare", "other", "other"])
    answered = 3
    while answered < 40:
        p = loop.propose()
        loop.label(p.batch_ids, ["other"] * len(p.batch_ids))
        answered += len(p.batch_ids)
    with pytest.raises(EmptyPoolError, match="done"):
        loop.propose()


def test_default_minority_is_every_class_but_the_most_frequent(pool):
    X, _y, _ = pool
    loop = make_loop(X, classes=["a", "b", "c"], minority=None)
    loop.label([0, 1, 2, 3], ["b", "b", "a", "c"])
    assert loop.minority == ["a", "c"]


def test_integer_classes_and_numpy_labels(pool):
    X, _y, _ = pool
    loop = make_loop(X, classes=[0, 1], minority=[1])
    loop.label(np.array([1, 2, 3]), np.array([0, 1, 0]))
    assert loop.labels == {1: 0, 2: 1, 3: 0}


@pytest.mark.parametrize("pool_filter", ["anchoral", "randsub", "seals", "none"])
@pytest.mark.parametrize("strategy", ["entropy", "badge", "ftbertkm"])
def test_every_filter_with_every_kind_of_strategy(pool, pool_filter, strategy):
    X, y, _ = pool
    loop = seeded(X, y, pool_filter=pool_filter, strategy=strategy)
    loop.simulate(y, 30)
    assert loop.iteration == 3 and len(loop.labels) == 63
    for record in loop.history:
        if pool_filter != "none":  # the trace leaves the full pool out
            assert set(record.batch_ids) <= set(record.subpool_ids)
        assert 0 <= record.minority_in_subpool <= 1


def test_the_batch_knows_its_retrieving_anchors_and_keeps_them_through_the_store(pool, tmp_path):
    X, y, _ = pool
    loop = seeded(X, y, store=tmp_path / "s.db", outside_sample=0)
    p = loop.propose()
    assert len(p.batch_retrieved_by) == len(p.batch_ids) and set(p.batch_retrieved_by) <= set(p.anchor_ids)
    loop.store.close()
    reopened = make_loop(X, store=tmp_path / "s.db", outside_sample=0)
    assert np.array_equal(reopened.pending.batch_retrieved_by, p.batch_retrieved_by)
    assert seeded(X, y, pool_filter="randsub").propose().batch_retrieved_by is None


def test_the_default_subpool_reaches_beyond_the_anchors_and_the_store_keeps_what_the_batch_took(pool, tmp_path):
    X, y, _ = pool
    loop = seeded(X, y, outside_sample=300, store=tmp_path / "s.db")
    assert (
        seeded(X, y).config["outside_sample"] == 5000
        and seeded(X, y, pool_filter="randsub").config["outside_sample"] == 0
    )
    p = loop.propose()
    outside = p.subpool_ids[200:]
    assert len(p.subpool_ids) > 400 and not np.isin(outside, list(loop.labels)).any()
    by = dict(zip(p.batch_ids.tolist(), p.batch_retrieved_by.tolist()))
    assert all((by[i] == -1) == bool(np.isin(i, outside)) for i in p.batch_ids.tolist())
    loop.label(p.batch_ids, y[p.batch_ids])
    kept = loop.history[-1]
    assert set(kept.subpool_ids) == set(p.subpool_ids[:200]) | set(p.batch_ids.tolist()), (
        "the anchors' subpool and the batch"
    )


def test_propose_with_a_model_fitted_elsewhere_scores_with_it_and_records_its_labels(pool, tmp_path):
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier, Trained

    X, y, _ = pool
    loop = seeded(X, y, store=tmp_path / "labels.db")
    fresh = loop.propose()
    assert fresh.model_labelled == 33, "strict: the model of every label"
    loop.label(fresh.batch_ids, y[fresh.batch_ids])
    older = EmbeddingClassifier().fit(X[loop.labelled_ids[:33]], loop.labelled_classes[:33], 2)
    p = loop.propose(trained=Trained(older, 33, waited=0.0))
    assert p.model_labelled == 33 and p.labelled_count == 43 and p.seconds["train"] == 0.0
    assert loop.model_ is older and np.allclose(p.batch_proba, older.predict_proba(X[p.batch_ids]))
    same = seeded(X, y)
    same.label(fresh.batch_ids, y[same.propose().batch_ids])
    strict = same.propose()
    assert strict.anchor_ids.tolist() == p.anchor_ids.tolist(), "the anchors of the current labelled set"
    assert strict.subpool_ids.tolist() == p.subpool_ids.tolist(), "and its subpool: only the scoring differs"
    again = make_loop(X, store=tmp_path / "labels.db")
    assert again.pending.model_labelled == 33, "kept in the store"
    loop.label(p.batch_ids, y[p.batch_ids])
    assert loop.history[-1].model_labelled == 33 and loop.history[0].model_labelled == 33


def test_propose_with_no_model_yet_draws_at_random_from_the_subpool(pool):
    from anchoral_widget.engine.learners.learner import Trained

    X, y, _ = pool
    loop = seeded(X, y)
    p = loop.propose(trained=Trained(None, 0))
    assert p.model_labelled is None and set(p.batch_ids) <= set(p.subpool_ids)
    assert len(p.anchor_ids) == 13 and np.allclose(p.batch_proba, 0.5)


def test_a_propose_payload_without_the_model_field_still_opens():
    from anchoral_widget.engine.loop.records import Proposal

    payload = dict(
        iteration=0,
        batch_ids=[1],
        subpool_ids=[1, 2],
        subpool_scores=None,
        anchor_ids=[3],
        anchor_classes=[0],
        batch_proba=[[0.5, 0.5]],
        seconds={},
        labelled_count=2,
        minority_in_labelled=0.5,
    )
    assert Proposal.from_payload(payload).model_labelled is None
