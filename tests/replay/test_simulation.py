import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.oracle import as_oracle
from anchoral_widget.errors import InputError
from anchoral_widget.replay.simulation import initial_sample, trace


def test_initial_sample_follows_the_paper():
    _, y, _ = clustered_pool(n=2000)
    ids = initial_sample(y, ["rare"], size=100, per_minority_class=5, seed=0)
    assert len(ids) == 100 == len(set(ids.tolist()))
    assert (y[ids] == "rare").sum() == 5
    assert np.array_equal(ids, initial_sample(y, ["rare"], 100, 5, seed=0))
    assert not np.array_equal(ids, initial_sample(y, ["rare"], 100, 5, seed=1))
    with pytest.raises(InputError, match="fewer than 500"):
        initial_sample(y, ["rare"], 1000, 500)


def test_oracle_from_sequence_or_callable():
    assert as_oracle(np.array(["a", "b", "c"]))([2, 0]) == ["c", "a"]
    assert as_oracle(lambda ids: ["x"] * len(ids))([1, 2]) == ["x", "x"]


def _run(X, y, pool_filter, budget=100, **kw):
    loop = ActiveLoop(
        X,
        classes=["other", "rare"],
        minority=["rare"],
        pool_filter=pool_filter,
        batch_size=20,
        seed=0,
        test=(X[-300:], y[-300:]),
        **kw,
    )
    init = initial_sample(y[:-300], ["rare"], 60, 3, seed=0)
    loop.label(init, y[init])
    loop.simulate(y, budget)
    return loop, init


def test_simulate_spends_exactly_the_budget_and_traces_it():
    X, y, _ = clustered_pool(n=2500)
    loop, init = _run(X, y, "anchoral", budget=90, subpool_size=300, outside_sample=0)
    assert len(loop.labels) == 60 + 90 and loop.iteration == 5  # 4 batches of 20, then 10
    t = trace(loop, init, loop.evaluate(loop.train()))
    assert t["initial_ids"] == init.tolist()
    first = t["iterations"][0]
    assert first["labelled_count"] == 60 and len(first["batch_ids"]) == 20 and len(first["batch_labels"]) == 20
    assert len(first["anchor_ids"]) == len(first["anchor_classes"]) and len(first["subpool_ids"]) == 300
    assert set(first["test"]) == {"minority_f1", "majority_f1", "per_class_f1"}
    assert 0 <= first["minority_in_subpool"] <= 1
    s = t["summary"]
    assert s["minority_found"] == sum(1 for i, lab in loop.labels.items() if lab == "rare" and i not in set(init))
    assert s["auc_minority_f1"] is not None and 0 <= s["auc_minority_f1_normalised"] <= 1


def test_budget_checks():
    X, y, _ = clustered_pool(n=500)
    loop = ActiveLoop(X, classes=["other", "rare"], minority=["rare"], subpool_size=100)
    with pytest.raises(InputError, match="larger than the 500 unlabelled"):
        loop.simulate(y, 501)
    with pytest.raises(InputError, match="at least 1"):
        loop.simulate(y, 0)


def test_anchoral_finds_more_minority_than_randsub_on_clustered_data():
    # Several rare clusters, one seen in the initial set: anchoring keeps subpools near the
    # minority, a random subpool of the same size mostly misses it.
    # The paper's method (its learner), then the default learner fitted against the pool as well,
    # which finds more with either filter (and so leaves fewer rare items in later subpools).
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier

    X, y, _ = clustered_pool(n=6000, clusters=40, rare_clusters=(0, 1, 2))
    found, share = {}, {}
    for sample in (0, 2000):
        for name in ("anchoral", "randsub"):
            learner = EmbeddingClassifier(unlabelled_sample=sample)
            paper = {"outside_sample": 0} if name == "anchoral" else {}  # the anchors' subpool alone
            loop, init = _run(X, y, name, budget=200, subpool_size=500, learner=learner, **paper)
            share[name, sample] = np.mean([r.minority_in_subpool for r in loop.history])
            found[name, sample] = sum(1 for i, lab in loop.labels.items() if lab == "rare" and i not in set(init))
    assert share["anchoral", 0] > 2 * share["randsub", 0]
    assert found["anchoral", 0] > found["randsub", 0]
    assert found["anchoral", 2000] > found["randsub", 2000]
    assert found["anchoral", 2000] > found["anchoral", 0]


def test_the_trace_says_what_its_auc_integrates():
    X, y, _ = clustered_pool(n=2500)
    loop, init = _run(X, y, "anchoral", budget=100, subpool_size=300)
    per_iteration = [r.test["minority_f1"] for r in loop.history]
    final = loop.evaluate(loop.train())
    s = trace(loop, init, final)["summary"]
    assert s["minority_f1_curve"] == [*per_iteration, final["minority_f1"]]
    assert s["labels_axis"] == [60, 80, 100, 120, 140, 160]
    assert s["auc_minority_f1"] == pytest.approx(np.trapezoid(s["minority_f1_curve"]))
    assert s["auc_minority_f1_iterations"] == pytest.approx(np.trapezoid(per_iteration))
    assert "6 points for 5 iterations" in s["auc_definition"]
    without_final = trace(loop, init)["summary"]
    assert without_final["auc_minority_f1"] == pytest.approx(np.trapezoid(per_iteration))
    assert "5 points for 5 iterations" in without_final["auc_definition"]
