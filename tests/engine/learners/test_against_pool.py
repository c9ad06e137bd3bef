"""The default learner fitted against a random sample of the pool as well as the labels."""

import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.learners.learner import BoundModel, EmbeddingClassifier, predicted
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError


def crowded_labels(X, y, cluster, seed=0):
    """Labels as AnchorAL gathers them: every rare item near the anchors, and the majority items
    labelled come from the two clusters nearest the rare one (not the whole pool)."""
    rare = np.flatnonzero(y == "rare")
    centre = X[rare].mean(axis=0)
    by_cluster = {c: X[cluster == c].mean(axis=0) @ centre for c in np.unique(cluster[y != "rare"])}
    near = sorted(by_cluster, key=by_cluster.get)[-2:]
    rng = np.random.default_rng(seed)
    others = rng.choice(np.flatnonzero(np.isin(cluster, near)), size=60, replace=False)
    ids = np.r_[rare[: len(rare) // 2], others]
    return ids, (y[ids] == "rare").astype(int)


def test_without_a_sample_it_is_the_balanced_model_exactly():
    from sklearn.linear_model import LogisticRegression

    X, y, cluster = clustered_pool(n=1500)
    ids, labels = crowded_labels(X, y, cluster)
    paper = LogisticRegression(class_weight="balanced", max_iter=1000, random_state=3).fit(X[ids], labels)
    for model in (
        EmbeddingClassifier().fit(X[ids], labels, 2, seed=3, minority=[1]),
        EmbeddingClassifier(unlabelled_sample=0).fit(X[ids], labels, 2, seed=3, minority=[1], unlabelled=X[:500]),
        EmbeddingClassifier(unlabelled_weight=0).fit(X[ids], labels, 2, seed=3, minority=[1], unlabelled=X[:500]),
    ):
        assert np.array_equal(model.predict_proba(X), paper.predict_proba(X))
        assert np.array_equal(predicted(model, X), paper.predict_proba(X).argmax(axis=1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sample_of_the_pool_stops_crowded_labels_calling_the_pool_rare(seed):
    X, y, cluster = clustered_pool(n=3000, seed=seed, noise=0.6)
    ids, labels = crowded_labels(X, y, cluster, seed)
    rng = np.random.default_rng(seed)
    sample = rng.choice(np.setdiff1d(np.arange(len(X)), ids), size=800, replace=False)
    balanced = EmbeddingClassifier(unlabelled_sample=0).fit(X[ids], labels, 2, seed, minority=[1])
    against = EmbeddingClassifier().fit(X[ids], labels, 2, seed, minority=[1], unlabelled=X[sample])
    truth = y == "rare"
    called = {name: predicted(m, X) == 1 for name, m in (("balanced", balanced), ("against", against))}
    # Fewer of the majority called rare, most rare items still called so.
    assert called["against"][~truth].sum() < called["balanced"][~truth].sum()
    assert called["against"][truth].mean() >= 0.8
    # The scores the strategy reads come from the model fitted against the pool: a rare share
    # nearer the pool's.
    share = {name: m.predict_proba(X)[:, 1].mean() for name, m in (("balanced", balanced), ("against", against))}
    assert abs(share["against"] - truth.mean()) < abs(share["balanced"] - truth.mean())


def test_decisions_are_the_two_models_mean():
    X, y, cluster = clustered_pool(n=1500, noise=0.6)
    ids, labels = crowded_labels(X, y, cluster)
    model = EmbeddingClassifier().fit(X[ids], labels, 2, 0, minority=[1], unlabelled=X[:600])
    balanced = EmbeddingClassifier(unlabelled_sample=0).fit(X[ids], labels, 2, 0, minority=[1])
    mean = (model.predict_proba(X) + balanced.predict_proba(X)) / 2
    assert np.array_equal(predicted(model, X), mean.argmax(axis=1))
    assert not np.array_equal(predicted(model, X), model.predict_proba(X).argmax(axis=1)), "a case where it matters"
    assert np.array_equal(BoundModel(model, X, chunk=7).predicted(np.arange(50)), mean[:50].argmax(axis=1))


def test_several_majority_classes_each_keep_their_items():
    X, _, cluster = clustered_pool(n=2000, clusters=6, rare_clusters=(0,))
    y = np.where(cluster == 0, 2, np.where(cluster <= 3, 0, 1))  # 2 is the minority
    rng = np.random.default_rng(0)
    ids = rng.choice(len(X), size=300, replace=False)
    model = EmbeddingClassifier().fit(X[ids], y[ids], 3, 0, minority=[2], unlabelled=X[rng.choice(len(X), 500)])
    decided = predicted(model, X)
    for cls in (0, 1, 2):
        assert (decided[y == cls] == cls).mean() > 0.8


def test_settings_are_checked():
    for name in ("unlabelled_sample", "unlabelled_weight", "unlabelled_ramp", "unlabelled_from"):
        with pytest.raises(InputError, match=f"^{name} must be >= 0, got -1$"):
            EmbeddingClassifier(**{name: -1})


class Spy(EmbeddingClassifier):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.samples = []

    def fit(self, X, y, n_classes, seed=0, minority=None, unlabelled=None):
        self.samples.append(None if unlabelled is None else np.asarray(unlabelled).copy())
        return super().fit(X, y, n_classes, seed, minority, unlabelled)


def test_the_loop_fits_against_unlabelled_items_it_draws_the_same_for_the_same_labels(pool):
    X, y, _ = pool
    ids = np.r_[np.flatnonzero(y == "rare")[:5], np.flatnonzero(y == "other")[:60]]
    skipped = np.flatnonzero(y == "other")[60:70]
    runs = []
    for order in (np.arange(len(ids)), np.arange(len(ids))[::-1]):
        spy = Spy(unlabelled_sample=500)
        loop = ActiveLoop(X, ["other", "rare"], ["rare"], learner=spy, subpool_size=200, index="exact", seed=4)
        loop.label(ids[order], y[ids[order]])
        loop.skip(skipped)
        proposal = loop.propose()
        sample = loop.unlabelled_sample(500)
        runs.append((sample, spy.samples[-1], proposal.batch_ids))
    (sample, rows, batch), (sample2, rows2, batch2) = runs
    assert np.array_equal(sample, sample2) and np.array_equal(rows, rows2) and np.array_equal(batch, batch2)
    assert 400 < len(sample) <= 500 and np.array_equal(sample, np.unique(sample))
    assert not np.isin(sample, np.r_[ids, skipped]).any(), "labelled and skipped items are not in it"
    assert np.array_equal(rows, X[sample])
    # An item of the sample labelled: it leaves the sample, the rest stays (its rows are read again).
    item = int(sample[3])
    loop.label([item], [y[item]])
    again = loop.unlabelled_sample(500)
    assert item not in again and set(sample) - set(again) == {item}


def test_the_papers_learner_is_given_no_sample(pool):
    X, y, _ = pool
    spy = Spy(unlabelled_sample=0)
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], learner=spy, subpool_size=200, index="exact")
    ids = np.r_[np.flatnonzero(y == "rare")[:5], np.flatnonzero(y == "other")[:30]]
    loop.label(ids, y[ids])
    loop.propose()
    assert spy.samples == [None]


@pytest.mark.parametrize("encoded", [1, 2, 10])
def test_items_still_to_be_encoded_are_not_drawn_and_the_sample_keeps_its_size(pool, encoded):
    X, _, _ = pool
    missing = np.ones(len(X), dtype=bool)
    missing[::encoded] = False  # one row in `encoded` has its vector
    loop = ActiveLoop(X.copy(), ["other", "rare"], ["rare"], subpool_size=200, index="exact")
    loop.pool.swap(X.copy(), missing=None if encoded == 1 else missing)
    sample = loop.unlabelled_sample(50)
    assert not missing[sample].any()
    # the learner is fitted against as many rows while the pool arrives as once it is whole
    assert 45 <= len(sample) <= 50


def test_the_held_out_f1_is_of_the_decisions(pool):
    X, _, _ = pool

    class Decides:
        inputs = "embeddings"

        def fit(self, X, y, n_classes, seed=0):
            return self

        def predict_proba(self, X):
            return np.tile([0.9, 0.1], (len(X), 1))  # scores say "other" everywhere

        def predict(self, X):
            return np.ones(len(X), dtype=int)  # decisions say "rare"

        def represent(self, X):
            return np.asarray(X)

    test_y = np.where(np.arange(100) % 2 == 0, "rare", "other")
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], learner=Decides(), index="exact", test=(X[:100], test_y))
    assert loop.evaluate(Decides())["minority_f1"] == pytest.approx(2 * 0.5 / 1.5)


def test_the_sample_weighs_in_as_the_rare_labels_grow():
    learner = EmbeddingClassifier(unlabelled_weight=0.8, unlabelled_ramp=40)
    y = lambda rare: np.r_[np.ones(rare, dtype=int), np.zeros(100, dtype=int)]
    assert [learner.unlabelled_share(y(n), [1]) for n in (0, 10, 40, 90)] == pytest.approx([0, 0.2, 0.8, 0.8])
    assert EmbeddingClassifier(unlabelled_ramp=0, unlabelled_from=0).unlabelled_share(y(2), [1]) == 1.0
    assert learner.unlabelled_share(y(50), None) == 0.0, "no rare class named: nothing to stand against"
    # none at all before 10 rare labels (by default), then the ramp's
    assert [EmbeddingClassifier().unlabelled_share(y(n), [1]) for n in (5, 9, 10, 20)] == [0, 0, 0.25, 0.5]
    assert EmbeddingClassifier(unlabelled_from=0).unlabelled_share(y(5), [1]) == 0.125
    # Five rare labels against the pool's sample: the ramp keeps the rare class called.
    X, labels, cluster = clustered_pool(n=3000, noise=0.6)
    ids, classes = crowded_labels(X, labels, cluster)
    few = np.r_[ids[classes == 1][:5], ids[classes == 0]]
    sample = np.setdiff1d(np.arange(0, len(X), 3), ids)
    called = {
        ramp: (
            EmbeddingClassifier(unlabelled_ramp=ramp, unlabelled_from=0)
            .fit(X[few], (labels[few] == "rare").astype(int), 2, 0, [1], X[sample])
            .predict_proba(X)[:, 1]
            > 0.5
        ).sum()
        for ramp in (0, 40)
    }
    assert called[40] > called[0]


def test_rows_in_float16_are_solved_in_float32_as_rows_in_float32_are():
    # scikit-learn solves float16 input in float64: at 10M (a memory-mapped float16 pool) the fit
    # took twice as long as at 10k (float32)
    X, y, cluster = clustered_pool(n=1500)
    ids, labels = crowded_labels(X, y, cluster)
    half = X.astype(np.float16)
    model = EmbeddingClassifier().fit(half[ids], labels, 2, 0, minority=[1], unlabelled=half[:600])
    assert model.clf.coef_.dtype == np.float32 and model.balanced.clf.coef_.dtype == np.float32
    same = EmbeddingClassifier().fit(half[ids].astype(np.float32), labels, 2, 0, [1], half[:600].astype(np.float32))
    assert np.array_equal(model.predict_proba(X), same.predict_proba(X))
