"""What is measured: per-class, minority and majority F1, the AUC of a learning curve, and
minority proportions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import f1_score


def per_class_f1(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """F1 of each class index in ``range(n_classes)``; 0 where a class is never true nor predicted."""
    return f1_score(y_true, y_pred, labels=list(range(n_classes)), average=None, zero_division=0)


def _macro(scores: np.ndarray, classes: Iterable[int]) -> float:
    classes = list(classes)
    return float(np.mean(scores[classes])) if classes else float("nan")


def minority_f1(y_true, y_pred, minority: Iterable[int], n_classes: int) -> float:
    """F1 macro-averaged over the minority classes."""
    return _macro(per_class_f1(y_true, y_pred, n_classes), minority)


def majority_f1(y_true, y_pred, minority: Iterable[int], n_classes: int) -> float:
    """F1 macro-averaged over the other classes."""
    minority = set(minority)
    return _macro(per_class_f1(y_true, y_pred, n_classes), [c for c in range(n_classes) if c not in minority])


def evaluate(y_true, y_pred, minority: Iterable[int], class_names: Sequence) -> dict:
    """Minority F1, majority F1 and per-class F1 (keyed by class name) of one prediction."""
    n = len(class_names)
    minority = list(minority)
    scores = per_class_f1(y_true, y_pred, n)
    return {
        "minority_f1": _macro(scores, minority),
        "majority_f1": _macro(scores, [c for c in range(n) if c not in set(minority)]),
        "per_class_f1": {str(name): float(s) for name, s in zip(class_names, scores)},
    }


def auc(curve: Sequence[float]) -> float:
    """Area under a learning curve by the trapezoidal rule over iterations (dx=1)."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) < 2:
        return 0.0
    return float(np.trapezoid(curve, dx=1.0))


def normalised_auc(curve: Sequence[float]) -> float:
    """AUC divided by the number of steps, so runs of different lengths compare (in [0, 1] for F1)."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) == 0:
        return float("nan")
    if len(curve) == 1:
        return float(curve[0])
    return auc(curve) / (len(curve) - 1)


def minority_proportion(classes: Sequence[int], minority: Iterable[int]) -> float:
    """Share of ``classes`` (class indices) that are minority classes; NaN for an empty set."""
    classes = np.asarray(classes)
    if len(classes) == 0:
        return float("nan")
    return float(np.isin(classes, list(minority)).mean())
