"""Active-learning strategies on a subpool: entropy, margin, least confidence, random, BADGE,
FT-BERTKM.

A strategy is stateless: ``select(model, ids, n, rng)`` returns ``min(n, len(ids))`` unique ids
from ``ids``. Uncertainty strategies also expose ``score(model, ids)`` (higher = picked first),
kept apart from selecting so that the map can colour points by score.

``model`` is anything with ``proba(ids) -> (len(ids), C)`` and ``represent(ids) -> (len(ids), d)``:
the loop hands in the learner's fitted model bound to the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from ...errors import EmptyPoolError, InputError

STRATEGIES = ("entropy", "margin", "least_confidence", "random", "badge", "ftbertkm")


def entropy(probs: np.ndarray) -> np.ndarray:
    """Predictive entropy of each row (nats)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    out: np.ndarray = -(p * np.log(p)).sum(axis=1)
    return out


def margin(probs: np.ndarray) -> np.ndarray:
    """Uncertainty as negative margin: -(p_top1 - p_top2), so higher means more uncertain."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top2 = np.partition(probs, -2, axis=1)[:, -2:]
    return -(top2[:, 1] - top2[:, 0])


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """1 - p_top1."""
    out: np.ndarray = 1.0 - np.asarray(probs, dtype=np.float64).max(axis=1)
    return out


def _check(ids: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.int64)
    if len(arr) == 0:
        raise EmptyPoolError("the subpool is empty: nothing to select from")
    if n < 1:
        raise InputError(f"batch size must be at least 1, got {n}")
    return arr


def top_n(ids: np.ndarray, scores: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The ``n`` highest-scoring ids; ties broken by a seeded shuffle rather than by position."""
    shuffled = rng.permutation(len(ids))
    order = shuffled[np.argsort(-np.asarray(scores)[shuffled], kind="stable")]
    return ids[order[:n]]


class Uncertainty:
    """Pick the items the model is least sure of, by a score of its probabilities."""

    _SCORES: ClassVar[dict[str, Callable[[np.ndarray], np.ndarray]]] = {
        "entropy": entropy,
        "margin": margin,
        "least_confidence": least_confidence,
    }

    def __init__(self, name: str) -> None:
        self.name = name
        self._score = self._SCORES[name]

    def score(self, model: Any, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._score(model.proba(ids))

    def select(self, model: Any, ids: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        ids = _check(ids, n)
        return top_n(ids, self.score(model, ids), n, rng)


class Random:
    name = "random"

    def score(self, model: Any, ids: Sequence[int] | np.ndarray) -> None:
        return None

    def select(self, model: Any, ids: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        ids = _check(ids, n)
        return rng.choice(ids, size=min(n, len(ids)), replace=False)


def badge_scale(probs: np.ndarray) -> np.ndarray:
    """The class factor of BADGE's gradient embedding: p - onehot(argmax p)."""
    scale = np.asarray(probs, dtype=np.float64).copy()
    scale[np.arange(len(scale)), scale.argmax(axis=1)] -= 1.0
    return scale


class Badge:
    """BADGE (Ash et al. 2020): k-means++ seeding over gradient embeddings g = a ⊗ h with
    a = p - onehot(argmax p).

    g is never built: ||g_i - g_j||^2 = |a_i|^2 |h_i|^2 + |a_j|^2 |h_j|^2 - 2 (a_i.a_j)(h_i.h_j),
    so each seeding step costs O(n (C + d)) instead of O(n C d).
    """

    name = "badge"

    def score(self, model: Any, ids: Sequence[int] | np.ndarray) -> None:
        return None

    def select(self, model: Any, ids: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        ids = _check(ids, n)
        if n >= len(ids):
            return ids.copy()
        probs, h = model.proba_and_represent(ids)
        batch: np.ndarray = ids[badge_seeding(badge_scale(probs), np.asarray(h, dtype=np.float64), n, rng)]
        return batch


def badge_seeding(a: np.ndarray, h: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding over the implicit outer products ``a_i ⊗ h_i``; returns positions."""
    sq_norms = (a * a).sum(axis=1) * (h * h).sum(axis=1)
    # Ash et al. start from the largest gradient; D^2 sampling after that.
    chosen = [int(np.argmax(sq_norms))]
    nearest = np.full(len(a), np.inf)
    picked = np.zeros(len(a), dtype=bool)
    picked[chosen[0]] = True
    while len(chosen) < n:
        c = chosen[-1]
        dist = sq_norms + sq_norms[c] - 2.0 * (a @ a[c]) * (h @ h[c])
        nearest = np.minimum(nearest, np.maximum(dist, 0.0))
        nearest[picked] = 0.0
        total = nearest.sum()
        if total > 0:
            nxt = int(rng.choice(len(a), p=nearest / total))
        else:  # every remaining gradient coincides with a centre: any of them will do
            nxt = int(rng.choice(np.flatnonzero(~picked)))
        chosen.append(nxt)
        picked[nxt] = True
    return np.asarray(chosen, dtype=np.int64)


class FtBertKM:
    """FT-BERTKM (Yuan et al. 2020): k-means with k=b on l2-normalised representations; the
    item nearest each centre."""

    name = "ftbertkm"

    def score(self, model: Any, ids: Sequence[int] | np.ndarray) -> None:
        return None

    def select(self, model: Any, ids: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        from sklearn.cluster import KMeans

        ids = _check(ids, n)
        if n >= len(ids):
            return ids.copy()
        h = np.asarray(model.represent(ids), dtype=np.float64)
        h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
        km = KMeans(n_clusters=n, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(h)
        centres = km.cluster_centers_
        dist = (h * h).sum(1)[:, None] - 2 * h @ centres.T + (centres * centres).sum(1)[None, :]
        picked = np.zeros(len(h), dtype=bool)
        chosen: list[int] = []
        for centre in range(n):
            # Nearest item not already taken by another centre, so the batch is exactly n.
            order = np.argsort(dist[:, centre], kind="stable")
            pos = next(int(p) for p in order if not picked[p])
            picked[pos] = True
            chosen.append(pos)
        batch: np.ndarray = ids[np.asarray(chosen)]
        return batch


def make_strategy(name: str) -> Uncertainty | Random | Badge | FtBertKM:
    """A strategy by name."""
    if name in Uncertainty._SCORES:
        return Uncertainty(name)
    if name == "random":
        return Random()
    if name == "badge":
        return Badge()
    if name == "ftbertkm":
        return FtBertKM()
    raise InputError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
