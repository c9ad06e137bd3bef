"""What is measured: per-class, minority and majority F1, the AUC of a learning curve, and
minority proportions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import f1_score

Classes = Sequence[int] | npt.NDArray[np.integer[Any]]


def per_class_f1(y_true: Classes, y_pred: Classes, n_classes: int) -> np.ndarray:
    """F1 of each class index in ``range(n_classes)``; 0 where a class is never true nor predicted."""
    return np.asarray(f1_score(y_true, y_pred, labels=list(range(n_classes)), average=None, zero_division=0))


def _macro(scores: np.ndarray, classes: Iterable[int]) -> float:
    chosen = list(classes)
    return float(np.mean(scores[chosen])) if chosen else float("nan")


def minority_f1(y_true: Classes, y_pred: Classes, minority: Iterable[int], n_classes: int) -> float:
    """F1 macro-averaged over the minority classes."""
    return _macro(per_class_f1(y_true, y_pred, n_classes), minority)


def majority_f1(y_true: Classes, y_pred: Classes, minority: Iterable[int], n_classes: int) -> float:
    """F1 macro-averaged over the other classes."""
    rare = set(minority)
    return _macro(per_class_f1(y_true, y_pred, n_classes), [c for c in range(n_classes) if c not in rare])


def evaluate(y_true: Classes, y_pred: Classes, minority: Iterable[int], class_names: Sequence[Any]) -> dict[str, Any]:
    """Minority F1, majority F1 and per-class F1 (keyed by class name) of one prediction."""
    n = len(class_names)
    rare = list(minority)
    scores = per_class_f1(y_true, y_pred, n)
    return {
        "minority_f1": _macro(scores, rare),
        "majority_f1": _macro(scores, [c for c in range(n) if c not in set(rare)]),
        "per_class_f1": {str(name): float(s) for name, s in zip(class_names, scores)},
    }


def auc(curve: Sequence[float] | np.ndarray) -> float:
    """Area under a learning curve by the trapezoidal rule over iterations (dx=1)."""
    values = np.asarray(curve, dtype=np.float64)
    if len(values) < 2:
        return 0.0
    return float(np.trapezoid(values, dx=1.0))


def normalised_auc(curve: Sequence[float] | np.ndarray) -> float:
    """AUC divided by the number of steps, so runs of different lengths compare (in [0, 1] for F1)."""
    values = np.asarray(curve, dtype=np.float64)
    if len(values) == 0:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return auc(values) / (len(values) - 1)


def minority_proportion(classes: Classes, minority: Iterable[int]) -> float:
    """Share of ``classes`` (class indices) that are minority classes; NaN for an empty set."""
    values = np.asarray(classes)
    if len(values) == 0:
        return float("nan")
    return float(np.isin(values, list(minority)).mean())


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Agreement beyond chance of two labellings; 1 when they are the same (scikit-learn's is
    undefined for one constant labelling: a model that predicts one class is as stable as any)."""
    from sklearn.metrics import cohen_kappa_score

    return 1.0 if np.array_equal(a, b) else float(cohen_kappa_score(a, b))
