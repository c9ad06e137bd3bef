"""Simulated runs: the paper's initial labelled set and the JSON trace of a run."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..engine.learners.metrics import auc, normalised_auc
from ..errors import InputError


def initial_sample(
    labels: Sequence | np.ndarray,
    minority: Sequence,
    size: int = 100,
    per_minority_class: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """The paper's initial labelled set: ``per_minority_class`` items of each minority class,
    the rest of ``size`` drawn at random from the other classes (seeded)."""
    label_array = np.asarray(labels, dtype=object)
    rng = np.random.default_rng([seed, 7])
    minority_mask = np.isin(label_array, np.asarray(list(minority), dtype=object))
    chosen = []
    for cls in minority:
        members = np.flatnonzero(label_array == cls)
        if len(members) < per_minority_class:
            raise InputError(f"minority class {cls!r} has {len(members)} items, fewer than {per_minority_class}")
        chosen.append(rng.choice(members, size=per_minority_class, replace=False))
    rest = size - per_minority_class * len(minority)
    others = np.flatnonzero(~minority_mask)
    if rest < 0 or rest > len(others):
        raise InputError(f"cannot draw an initial set of {size} with {per_minority_class} per minority class")
    chosen.append(rng.choice(others, size=rest, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


#: What ``auc_minority_f1`` integrates, written into every trace.
AUC_DEFINITION = (
    "trapezoid (dx=1) over the test minority F1 of the model trained at the start of each "
    "iteration (on the labels of the iterations before it), then of the model trained on the "
    "final labelled set when the trace has it: {points} points for {iterations} iterations"
)


def summarise(loop, initial_ids: Sequence[int] | np.ndarray, final_test: dict | None) -> dict:
    """The trace's summary: AUC of minority F1, minority items found, selection time.

    ``auc_minority_f1`` integrates the learning curve ``minority_f1_curve``: one point per
    iteration (the model that chose the iteration's batch) plus, when ``final_test`` is given, the
    model trained on everything labelled at the end, so the curve spans the whole budget.
    ``auc_minority_f1_iterations`` leaves that last point out (the per-iteration curve alone);
    ``auc_definition`` says in words which one a trace holds. Compare runs only on the same
    definition and the same number of points.
    """
    minority = loop.minority_indices
    initial = set(int(i) for i in initial_ids)
    found = sum(
        1
        for i, c in zip(loop.labelled_ids.tolist(), loop.labelled_classes.tolist())
        if i not in initial and c in minority
    )
    per_iteration = [r.test["minority_f1"] for r in loop.history if r.test]
    labels_axis = [r.labelled_count for r in loop.history if r.test]
    curve = list(per_iteration)
    if final_test:
        curve.append(final_test["minority_f1"])
        labels_axis.append(len(loop.labelled_ids))
    return {
        "auc_minority_f1": auc(curve) if curve else None,
        "auc_minority_f1_normalised": normalised_auc(curve) if curve else None,
        "auc_minority_f1_iterations": auc(per_iteration) if per_iteration else None,
        "auc_definition": AUC_DEFINITION.format(points=len(curve), iterations=len(loop.history)),
        "minority_f1_curve": curve,
        "labels_axis": labels_axis,
        "minority_found": found,
        "labelled": len(loop.labelled_ids),
        "iterations": len(loop.history),
        "total_selection_seconds": float(sum(r.seconds["total"] for r in loop.history)),
        "final_test": final_test,
    }


def trace(loop, initial_ids: Sequence[int] | np.ndarray, final_test: dict | None = None) -> dict:
    """Everything a run did, as plain JSON-ready data."""
    return {
        "config": dict(loop.config, classes=list(loop.classes), minority=loop.minority, pool_size=len(loop.embeddings)),
        "initial_ids": [int(i) for i in initial_ids],
        "iterations": [_plain(asdict(r)) for r in loop.history],
        "summary": _plain(summarise(loop, initial_ids, final_test)),
    }


def _plain(value):
    """JSON-safe: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write JSON atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
