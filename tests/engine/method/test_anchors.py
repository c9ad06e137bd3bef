import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.method.anchors import select_anchors
from anchoral_widget.errors import InputError


def _labelled(n_per_class=(30, 4)):
    X, _, _ = clustered_pool(n=500)
    ids = np.arange(sum(n_per_class))
    classes = np.concatenate([np.full(k, c) for c, k in enumerate(n_per_class)])
    return X, ids, classes


def _select(X, ids, classes, **kw):
    defaults = dict(per_class=10, n_classes=2, minority={1}, rng=np.random.default_rng(0))
    defaults.update(kw)
    return select_anchors(ids, classes, X, **defaults)


def test_kmeanspp_anchors_are_reproducible_and_per_class():
    X, ids, classes = _labelled()
    a1, c1 = _select(X, ids, classes, rng=np.random.default_rng(5))
    a2, c2 = _select(X, ids, classes, rng=np.random.default_rng(5))
    a3, _ = _select(X, ids, classes, rng=np.random.default_rng(6))
    assert np.array_equal(a1, a2) and np.array_equal(c1, c2)
    assert not np.array_equal(a1, a3)
    assert (c1 == 0).sum() == 10 and len(set(a1[c1 == 0])) == 10
    assert set(a1[c1 == 0]) <= set(ids[classes == 0])


def test_a_class_with_fewer_than_A_labels_gives_all_of_them():
    X, ids, classes = _labelled((30, 4))
    for strategy in ("kmeans++", "random", "entropy"):
        anchors, anchor_classes = _select(
            X, ids, classes, minority_strategy=strategy, majority_strategy=strategy, entropy=np.linspace(0, 1, len(ids))
        )
        assert set(anchors[anchor_classes == 1]) == set(ids[classes == 1])


def test_entropy_anchors_are_the_most_uncertain():
    X, ids, classes = _labelled((30, 4))
    ent = np.random.default_rng(1).random(len(ids))
    anchors, anchor_classes = _select(X, ids, classes, majority_strategy="entropy", entropy=ent)
    majority = ids[classes == 0]
    expected = majority[np.argsort(-ent[classes == 0])[:10]]
    assert set(anchors[anchor_classes == 0]) == set(expected)


def test_minority_and_majority_strategies_differ():
    X, ids, classes = _labelled((30, 30))
    ent = np.arange(len(ids), dtype=float)
    anchors, anchor_classes = _select(
        X, ids, classes, minority_strategy="entropy", majority_strategy="random", entropy=ent
    )
    assert set(anchors[anchor_classes == 1]) == set(ids[classes == 1][-10:])  # highest entropy


def test_duplicate_vectors_do_not_break_kmeanspp():
    X = np.repeat(np.eye(4, dtype=np.float32), 10, axis=0)  # 4 distinct rows, 10 copies each
    ids = np.arange(40)
    anchors, _ = select_anchors(
        ids, np.zeros(40, int), X, per_class=6, n_classes=2, minority={1}, rng=np.random.default_rng(0)
    )
    assert len(anchors) == 4 and len({tuple(X[a]) for a in anchors}) == 4


def test_errors_name_the_problem():
    X, ids, classes = _labelled()
    with pytest.raises(InputError, match="unknown anchor strategy 'kmeans'"):
        _select(X, ids, classes, majority_strategy="kmeans")
    with pytest.raises(InputError, match="needs the model's predictions"):
        _select(X, ids, classes, majority_strategy="entropy")


def test_anchors_do_not_depend_on_the_order_labels_were_given():
    # The same labelled set, listed in another order (the order a user clicked), gives the
    # same anchors for every strategy.
    X, _, _ = clustered_pool(n=500)
    ids = np.random.default_rng(3).choice(500, 80, replace=False)
    classes = (np.arange(80) % 3 == 0).astype(int)
    ent = np.random.default_rng(4).random(80).round(1)  # rounded: ties must not follow the order either
    for strategy in ("kmeans++", "random", "entropy"):
        results = []
        for order_seed in range(4):
            order = np.random.default_rng(order_seed).permutation(80)
            anchors, anchor_classes = _select(
                X,
                ids[order],
                classes[order],
                minority_strategy=strategy,
                majority_strategy=strategy,
                entropy=ent[order],
                rng=np.random.default_rng(7),
            )
            results.append((anchors.tolist(), anchor_classes.tolist()))
        assert all(r == results[0] for r in results), strategy


def test_misaligned_inputs_are_named():
    X, ids, classes = _labelled()
    with pytest.raises(InputError, match="same length"):
        _select(X, ids, classes[:-1])
