import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.learners.learner import BoundModel, EmbeddingClassifier
from anchoral_widget.engine.method.strategies import (
    STRATEGIES,
    badge_scale,
    badge_seeding,
    entropy,
    least_confidence,
    make_strategy,
    margin,
)
from anchoral_widget.errors import EmptyPoolError, InputError


@pytest.fixture(scope="module")
def fitted():
    X, y, cluster = clustered_pool(n=1500)
    labelled = np.r_[np.flatnonzero(y == "rare")[:10], np.flatnonzero(y == "other")[:90]]
    # Three classes, so that BADGE's factorisation is exercised beyond the binary case.
    classes = np.where(y == "rare", 2, np.where(cluster % 2 == 0, 0, 1))
    model = EmbeddingClassifier().fit(X[labelled], classes[labelled], n_classes=3)
    subpool = np.setdiff1d(np.arange(len(X)), labelled)[:400]
    return BoundModel(model, X), subpool


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_contract(name, fitted):
    """Every strategy: a subset of the subpool, unique, exactly b, reproducible under a seed,
    a clear error on an empty pool."""
    model, subpool = fitted
    strategy = make_strategy(name)
    picked = strategy.select(model, subpool, 25, np.random.default_rng(0))
    assert len(picked) == 25 and len(set(picked.tolist())) == 25
    assert set(picked.tolist()) <= set(subpool.tolist())
    again = strategy.select(model, subpool, 25, np.random.default_rng(0))
    assert np.array_equal(picked, again)
    # A subpool smaller than b gives all of it.
    small = strategy.select(model, subpool[:7], 25, np.random.default_rng(0))
    assert sorted(small.tolist()) == sorted(subpool[:7].tolist())
    with pytest.raises(EmptyPoolError):
        strategy.select(model, np.array([], dtype=np.int64), 25, np.random.default_rng(0))
    with pytest.raises(InputError):
        strategy.select(model, subpool, 0, np.random.default_rng(0))


def test_uncertainty_scores():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    assert entropy(p)[0] == pytest.approx(np.log(2)) and entropy(p)[2] == pytest.approx(0, abs=1e-9)
    assert np.argsort(-margin(p)).tolist() == [0, 1, 2]
    assert least_confidence(p).tolist() == pytest.approx([0.5, 0.1, 0.0])


def test_entropy_picks_the_most_uncertain(fitted):
    model, subpool = fitted
    picked = make_strategy("entropy").select(model, subpool, 10, np.random.default_rng(0))
    scores = entropy(model.proba(subpool))
    assert set(picked) == set(subpool[np.argsort(-scores)[:10]])


def test_badge_factorised_distances_equal_the_explicit_gradient_embedding():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=60)
    h = rng.normal(size=(60, 8))
    a = badge_scale(probs)
    g = (a[:, :, None] * h[:, None, :]).reshape(60, -1)  # the C*d matrix BADGE avoids building
    top = probs.argmax(1)
    assert np.allclose(a[np.arange(60), top], probs[np.arange(60), top] - 1)

    # Same seeding over the explicit embedding: the factorised one must pick the same items.
    def explicit(n, rng):
        chosen = [int(np.argmax((g * g).sum(1)))]
        nearest = np.full(60, np.inf)
        while len(chosen) < n:
            nearest = np.minimum(nearest, ((g - g[chosen[-1]]) ** 2).sum(1))
            nearest[chosen] = 0
            chosen.append(int(rng.choice(60, p=nearest / nearest.sum())))
        return chosen

    assert badge_seeding(a, h, 12, np.random.default_rng(3)).tolist() == explicit(12, np.random.default_rng(3))


def test_ftbertkm_picks_one_item_per_cluster():
    # Five tight, far-apart clusters and b=5: one pick in each.
    rng = np.random.default_rng(0)
    centres = np.eye(5) * 10
    h = np.repeat(centres, 20, axis=0) + 0.01 * rng.normal(size=(100, 5))

    class Fixed:
        def represent(self, ids):
            return h[ids]

    picked = make_strategy("ftbertkm").select(Fixed(), np.arange(100), 5, np.random.default_rng(0))
    assert sorted(p // 20 for p in picked) == [0, 1, 2, 3, 4]


def test_unknown_strategy():
    with pytest.raises(InputError, match="unknown strategy 'entropie'"):
        make_strategy("entropie")
