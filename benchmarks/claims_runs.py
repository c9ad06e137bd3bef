"""One run of the claims benchmark's setting: the configurations, a pool at one minority share
(a variant of a bundled dataset) and a run of the loop on it, from the paper's initial set.

``encoders.py``, ``index_fidelity.py``, ``near_labels.py`` and ``upgrade.py`` run this same
setting on other embeddings or indexes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

CONFIGS = {
    # name: (pool filter, strategy, subpool size or None for the loop's default)
    "anchoral": ("anchoral", "entropy", None),
    "randsub": ("randsub", "entropy", None),
    "seals": ("seals", "entropy", None),
    "none": ("none", "entropy", None),
    "noanchor": ("randsub", "entropy", 1000),
    "anchoral+badge": ("anchoral", "badge", None),
    "randsub+badge": ("randsub", "badge", None),
    "anchoral+ftbertkm": ("anchoral", "ftbertkm", None),
    "randsub+ftbertkm": ("randsub", "ftbertkm", None),
}
DEFAULT_CONFIGS = "anchoral,randsub,seals,none,noanchor"


@dataclass
class Variant:
    """One pool to run on: a dataset at one minority share."""

    name: str
    X: np.ndarray
    labels: np.ndarray
    X_test: np.ndarray
    test_labels: np.ndarray
    classes: list
    minority: list
    share: float
    texts: list | None = None  # the pool's texts, row for row


def load(name: str, max_size: int | None):
    """Dataset, pool embeddings, test embeddings."""
    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    data = load_dataset(name, seed=0, max_size=max_size)
    encoder = Encoder("minilm", progress=False)  # the claims are measured on MiniLM's vectors
    t0 = time.perf_counter()
    X = np.asarray(encoder.encode(data.texts))
    X_test = np.asarray(encoder.encode(data.test_texts))
    print(
        f"{name}: pool {len(X)}, test {len(X_test)}, minority {data.minority} ({data.minority_share:.2%}); "
        f"encode/load {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    return data, X, X_test


def variant(data, X: np.ndarray, X_test: np.ndarray, rarity: float) -> Variant:
    """The dataset as shipped (rarity 0.01), or its pool with the minority subsampled (seeded)
    to ``rarity`` of the pool; the test set is left as it is."""
    labels = np.asarray(data.labels)
    is_minority = np.isin(labels, data.minority)
    if rarity >= data.minority_share - 1e-9:
        keep = np.arange(len(labels))
    else:
        majority = np.flatnonzero(~is_minority)
        n_minority = max(len(data.minority) * 5 + 5, round(rarity * len(majority) / (1 - rarity)))
        chosen = []
        rng = np.random.default_rng([0, 1001])
        for cls in data.minority:
            members = np.flatnonzero(labels == cls)
            chosen.append(rng.choice(members, size=min(len(members), n_minority // len(data.minority)), replace=False))
        keep = np.sort(np.concatenate([majority, *chosen]))
    sub = labels[keep]
    share = float(np.isin(sub, data.minority).mean())
    return Variant(
        name=f"{data.name} ({share:.1%})" if rarity < 0.01 else data.name,
        X=X[keep],
        labels=sub,
        X_test=X_test,
        test_labels=np.asarray(data.test_labels),
        classes=list(data.classes),
        minority=list(data.minority),
        share=share,
        texts=[data.texts[i] for i in keep.tolist()],
    )


def start_loop(v: Variant, index, config: str, seed: int, learner="logreg", outside_sample=None):
    """``(loop, initial ids)``: a loop of ``config`` over the variant, with the paper's initial
    set (100 items, 5 per minority class) labelled; the default session's learner and subpool
    unless given."""
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.replay.simulation import initial_sample

    pool_filter, strategy, subpool_size = CONFIGS[config]
    loop = ActiveLoop(
        v.X,
        classes=v.classes,
        minority=v.minority,
        pool_filter=pool_filter,
        strategy=strategy,
        subpool_size=subpool_size,
        index=index,
        test=(v.X_test, v.test_labels),
        seed=seed,
        learner=learner,
        outside_sample=outside_sample,
    )
    initial = initial_sample(v.labels, v.minority, size=100, per_minority_class=5, seed=seed)
    loop.label(initial, v.labels[initial])
    return loop, initial


def run_one(v: Variant, index, config: str, seed: int, budget: int) -> dict:
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier
    from anchoral_widget.replay.simulation import summarise

    # the paper's claims, with the paper's method: the balanced model alone, the anchors' subpool alone
    paper = 0 if CONFIGS[config][0] == "anchoral" else None
    loop, initial = start_loop(v, index, config, seed, EmbeddingClassifier(unlabelled_sample=0), paper)
    t0 = time.perf_counter()
    loop.simulate(v.labels, budget)
    wall = time.perf_counter() - t0
    final = loop.evaluate(loop.train())
    summary = summarise(loop, initial, final)
    minority = set(v.minority)
    initial_set = set(int(i) for i in initial)
    found, curve_found = 0, []
    for record in loop.history:
        curve_found.append(found)
        found += sum(1 for i, c in zip(record.batch_ids, record.batch_labels) if c in minority and i not in initial_set)
    curve_found.append(found)
    per_iteration = [r.seconds["total"] for r in loop.history]
    return {
        "config": config,
        "seed": seed,
        "auc": summary["auc_minority_f1"],
        "auc_iterations": summary["auc_minority_f1_iterations"],
        "auc_normalised": summary["auc_minority_f1_normalised"],
        "auc_definition": summary["auc_definition"],
        "minority_found": summary["minority_found"],
        "final_minority_f1": final["minority_f1"],
        "subpool_minority_share": float(np.nanmean([r.minority_in_subpool for r in loop.history])),
        "selection_seconds": summary["total_selection_seconds"],
        "median_wait": float(np.median(per_iteration)),
        "median_subpool_strategy": float(
            np.median([r.seconds["subpool"] + r.seconds["strategy"] for r in loop.history])
        ),
        "wall_seconds": wall,
        "labels_axis": summary["labels_axis"],
        "minority_f1_curve": summary["minority_f1_curve"],
        "minority_found_curve": curve_found,
    }
