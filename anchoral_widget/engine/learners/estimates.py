"""Estimates for when the truth is not at hand: minority and majority F1 by cross-validation on
the labelled set (no held-out set given), and the predicted minority share of a subpool (its
items are not labelled).

Both are flagged ``"estimate": True`` in their output, and the curves say so. A cross-validated
F1 on an actively chosen labelled set is biased: the set is not a random sample of the pool (it
is richer in hard and minority items), so read it as a trend, not as the test-set F1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .learner import make_learner, take
from .metrics import per_class_f1

DEFAULT_FOLDS = 5
MIN_PER_CLASS = 2  # a class needs this many labels to be held out in a fold


def cross_validated_f1(
    X: Any,
    y: Sequence[int] | np.ndarray,
    minority: Iterable[int],
    n_classes: int,
    *,
    learner: Any = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    class_names: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Minority and majority F1 of ``learner`` by stratified k-fold cross-validation on (X, y).

    Out-of-fold predictions are pooled and scored once. A class with fewer than 2 items cannot
    be validated: its items always stay in training and it is left out of the averages (listed
    in ``unvalidated``). The number of folds drops to the smallest validated class size (at
    least 2). With fewer than two validatable classes the F1 values are NaN.

    Parameters
    ----------
    X : embeddings rows (or texts) of the labelled items; y : their class indices.
    learner : a learner object (``fit(X, y, n_classes, seed)``); default the embedding
        classifier the loop uses by default.
    """
    labels = np.asarray(y, dtype=np.int64)
    minority = sorted(set(int(c) for c in minority))
    names = list(range(n_classes)) if class_names is None else list(class_names)
    learner = make_learner("logreg") if learner is None else learner
    counts = np.bincount(labels, minlength=n_classes)
    validated = [c for c in range(n_classes) if counts[c] >= MIN_PER_CLASS]
    result = {
        "estimate": True,
        "method": "",
        "folds": 0,
        "n": len(labels),
        "minority_f1": float("nan"),
        "majority_f1": float("nan"),
        "per_class_f1": {},
        "unvalidated": [names[c] for c in range(n_classes) if 0 < counts[c] < MIN_PER_CLASS],
    }
    proba, k, held = out_of_fold_proba(X, labels, n_classes, learner=learner, folds=folds, seed=seed)
    if k == 0:
        result["method"] = "not enough labels to cross-validate (two classes with 2+ items needed)"
        return result
    test_pool = np.flatnonzero(held)
    predicted = np.full(len(labels), -1, dtype=np.int64)
    predicted[test_pool] = proba[test_pool].argmax(axis=1)
    scores = per_class_f1(labels[test_pool], predicted[test_pool], n_classes)
    minority_v = [c for c in minority if c in validated]
    majority_v = [c for c in validated if c not in minority]
    result.update(
        method=f"{k}-fold stratified cross-validation on the labelled set",
        folds=k,
        minority_f1=float(np.mean(scores[minority_v])) if minority_v else float("nan"),
        majority_f1=float(np.mean(scores[majority_v])) if majority_v else float("nan"),
        per_class_f1={str(names[c]): float(scores[c]) for c in validated},
    )
    return result


def out_of_fold_proba(
    X: Any, y: np.ndarray, n_classes: int, *, learner: Any, folds: int = DEFAULT_FOLDS, seed: int = 0
) -> tuple[np.ndarray, int, np.ndarray]:
    """Each item's class probabilities from a model fitted without it.

    Items of classes with fewer than ``MIN_PER_CLASS`` labels always stay in training and get NaN
    rows. Returns (probabilities, folds used, mask of the items that got a probability).
    """
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=n_classes)
    held = counts[y] >= MIN_PER_CLASS
    proba = np.full((len(y), n_classes), np.nan)
    held_ids, kept = np.flatnonzero(held), np.flatnonzero(~held)
    if len(np.unique(y[held_ids])) < 2:
        return proba, 0, np.zeros(len(y), dtype=bool)
    k = int(max(2, min(folds, counts[np.unique(y[held_ids])].min())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (train_part, test_part) in enumerate(splitter.split(held_ids, y[held_ids])):
        train, test = np.concatenate([held_ids[train_part], kept]), held_ids[test_part]
        model = learner.fit(take(X, train), y[train], n_classes, seed + fold)
        proba[test] = np.asarray(model.predict_proba(take(X, test)), dtype=np.float64)
    return proba, k, held


def predicted_minority_share(proba: np.ndarray, minority: Iterable[int]) -> float:
    """The model's expected minority share of a set of items: the mean over items of the
    probability given to the minority classes. NaN for an empty set."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.size == 0:
        return float("nan")
    return float(proba[:, sorted(set(int(c) for c in minority))].sum(axis=1).mean())
