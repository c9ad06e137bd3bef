"""Cross-validated F1 on the labelled set (flagged as an estimate) and the predicted minority
share of a subpool."""

import math

import numpy as np

from anchoral_widget.engine.learners.estimates import cross_validated_f1, predicted_minority_share


def separable(n_per=(40, 12), seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(-3, 1, (n_per[0], 4)), rng.normal(3, 1, (n_per[1], 4))]).astype(np.float32)
    y = np.repeat([0, 1], n_per)
    return X, y


def test_separable_classes_score_one_and_are_flagged():
    X, y = separable()
    r = cross_validated_f1(X, y, [1], 2, class_names=["common", "rare"])
    assert r["estimate"] is True and "cross-validation" in r["method"]
    assert r["folds"] == 5 and r["n"] == 52
    assert r["minority_f1"] == 1.0 and r["majority_f1"] == 1.0
    assert set(r["per_class_f1"]) == {"common", "rare"} and r["unvalidated"] == []


def test_overlapping_classes_score_below_one_and_are_reproducible():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4)).astype(np.float32)
    y = (rng.random(80) < 0.3).astype(int)
    a = cross_validated_f1(X, y, [1], 2, seed=1)
    assert a == cross_validated_f1(X, y, [1], 2, seed=1)
    assert a["minority_f1"] < 0.9


def test_small_classes_lower_the_folds_and_singletons_are_left_out():
    X, y = separable((20, 3))
    X = np.concatenate([X, X[:1] + 10])
    y = np.concatenate([y, [2]])  # one item of class 2: it cannot be validated
    r = cross_validated_f1(X, y, [1, 2], 3, class_names=["a", "b", "c"])
    assert r["folds"] == 3  # the smallest validated class has 3 items
    assert r["unvalidated"] == ["c"] and "c" not in r["per_class_f1"]
    assert math.isfinite(r["minority_f1"])  # averaged over the validated minority class only


def test_too_few_labels_give_nan_not_an_error():
    X, y = separable((5, 1))
    r = cross_validated_f1(X, y, [1], 2)
    assert r["estimate"] is True and math.isnan(r["minority_f1"]) and r["folds"] == 0
    assert "not enough" in r["method"]


def test_predicted_minority_share():
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]])
    assert predicted_minority_share(proba, [1, 2]) == (0.1 + 0.8) / 2
    assert math.isnan(predicted_minority_share(np.empty((0, 3)), [1]))
