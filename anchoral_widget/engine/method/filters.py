"""Pool filters: what chooses the subpool the AL strategy runs on.

``anchoral`` (anchors query the index), ``randsub`` (a fresh uniform sample), ``seals`` (the
neighbours of every labelled item, growing) and ``none`` (the whole unlabelled pool).
Each returns a :class:`Subpool`: ids, their scores where the filter has one, and the anchors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import EmptyPoolError, InputError
from ..search.index import VectorIndex
from .anchors import select_anchors

POOL_FILTERS = ("anchoral", "randsub", "seals", "none")
#: SEALS keeps each labelled item's ranking of the pool up to this many times K; beyond, it
#: asks the index for the K nearest eligible items directly.
SEALS_MAX_DEPTH = 32


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass
class Subpool:
    """The items a strategy may pick from; ``scores`` is None for filters that do not score."""

    ids: np.ndarray
    scores: np.ndarray | None = None
    anchor_ids: np.ndarray = field(default_factory=_empty)
    anchor_classes: np.ndarray = field(default_factory=_empty)
    retrieved_by: np.ndarray | None = None  # per item: the most similar anchor that retrieved it


@dataclass
class PoolState:
    """What a filter sees of the loop: the pool, the index and the labelled set."""

    embeddings: np.ndarray
    index: VectorIndex | None  # None for the filters that never query it
    excluded: np.ndarray  # bool mask over the pool: labelled or skipped
    labelled_ids: np.ndarray
    labelled_classes: np.ndarray  # class index of each labelled id
    n_classes: int
    minority: set[int]
    rng: np.random.Generator
    labelled_entropy: Callable[[], np.ndarray] | None = None

    @property
    def unlabelled_ids(self) -> np.ndarray:
        return np.flatnonzero(~self.excluded)


def _random_sample(state: PoolState, size: int) -> np.ndarray:
    pool = state.unlabelled_ids
    if len(pool) == 0:
        raise EmptyPoolError("every item of the pool is labelled or skipped")
    if len(pool) <= size:
        return pool
    return np.sort(state.rng.choice(pool, size=size, replace=False))


def mean_similarity_scores(ids: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse retrieved ``(ids, sims)``: each id gets the mean similarity of its retrievals."""
    ids, sims = np.ravel(ids), np.ravel(sims)
    valid = ids >= 0
    unique, inverse = np.unique(ids[valid], return_inverse=True)
    totals = np.bincount(inverse, weights=sims[valid].astype(np.float64), minlength=len(unique))
    counts = np.bincount(inverse, minlength=len(unique))
    return unique, (totals / counts).astype(np.float32)


def best_retriever(ids: np.ndarray, sims: np.ndarray, anchor_ids: np.ndarray, items: np.ndarray) -> np.ndarray:
    """For each of ``items``, the anchor (row of ``ids``) that retrieved it with the highest
    similarity: "why am I seeing this"."""
    rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
    flat_ids, flat_sims = ids.ravel(), sims.ravel()
    order = np.lexsort((-flat_sims, flat_ids))  # by id, then best similarity first
    first = order[np.r_[True, flat_ids[order][1:] != flat_ids[order][:-1]]]
    best = dict(zip(flat_ids[first].tolist(), rows[first].tolist()))
    return anchor_ids[[best[int(i)] for i in items]]


def top_by_score(ids: np.ndarray, scores: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``size`` highest-scoring ids, best first; ties go to the lower id."""
    order = np.lexsort((ids, -scores))[:size]
    return ids[order], scores[order]


class AnchorAL:
    """AnchorAL's filter (Algorithm 1, lines 3-9): anchors per class, K neighbours each,
    mean similarity, the M best."""

    name = "anchoral"

    def __init__(
        self,
        anchors_per_class: int = 10,
        neighbours: int = 50,
        subpool_size: int = 1000,
        minority_anchor_strategy: str = "kmeans++",
        majority_anchor_strategy: str = "kmeans++",
    ):
        self.anchors_per_class = anchors_per_class
        self.neighbours = neighbours
        self.subpool_size = subpool_size
        self.minority_anchor_strategy = minority_anchor_strategy
        self.majority_anchor_strategy = majority_anchor_strategy

    def __call__(self, state: PoolState) -> Subpool:
        if len(state.labelled_ids) == 0:
            return Subpool(_random_sample(state, self.subpool_size))
        needs_entropy = "entropy" in (self.minority_anchor_strategy, self.majority_anchor_strategy)
        entropy = state.labelled_entropy() if needs_entropy and state.labelled_entropy else None
        anchor_ids, anchor_classes = select_anchors(
            state.labelled_ids,
            state.labelled_classes,
            state.embeddings,
            per_class=self.anchors_per_class,
            n_classes=state.n_classes,
            minority=state.minority,
            minority_strategy=self.minority_anchor_strategy,
            majority_strategy=self.majority_anchor_strategy,
            entropy=entropy,
            rng=state.rng,
        )
        assert state.index is not None, "anchoral queries the index"
        retrieved, sims = state.index.query(state.embeddings[anchor_ids], self.neighbours, exclude=state.excluded)
        unique, scores = mean_similarity_scores(retrieved, sims)
        if len(unique) == 0:
            raise EmptyPoolError("every item of the pool is labelled or skipped")
        ids, scores = top_by_score(unique, scores, self.subpool_size)
        return Subpool(ids, scores, anchor_ids, anchor_classes, best_retriever(retrieved, sims, anchor_ids, ids))


class RandSub:
    """A fresh uniform random sample of the unlabelled pool each iteration (Ertekin et al.)."""

    name = "randsub"

    def __init__(self, subpool_size: int = 10_000):
        self.subpool_size = subpool_size

    def __call__(self, state: PoolState) -> Subpool:
        return Subpool(_random_sample(state, self.subpool_size))


class Seals:
    """SEALS (Coleman et al.): the union of the K nearest unlabelled neighbours of every
    labelled item, each scored by its best similarity to a labelled item.

    The subpool is a function of the labelled set and the exclusion mask alone (not of the order
    labels came in, nor of what was asked before), so a resumed or replayed run gets the very
    same subpools, and undoing a label removes exactly its contribution. Each labelled item's
    ranking of the whole pool is fetched once, to a depth of ``2K``, and kept by id; its K
    nearest unlabelled neighbours are the first K entries of that ranking not labelled or
    skipped now. When fewer than K are left (labels gather around it), the ranking is fetched
    deeper (doubling, up to ``32K``, then the index is asked for the K nearest eligible items
    directly). Coleman et al. retrieve a new label's neighbours among the unlabelled
    items of the moment it is labelled; here they are the ones unlabelled now, which differs
    only in that a neighbourhood that gets labelled is refilled from further out.
    """

    name = "seals"

    def __init__(self, neighbours: int = 50, subpool_size: int = 1000):
        self.neighbours = neighbours
        self.subpool_size = subpool_size  # only used before anything is labelled
        # (item, depth) -> the item's `depth` nearest items of the whole pool, best first.
        self._rankings: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _ranking(self, state: PoolState, items: np.ndarray, depth: int) -> None:
        missing = np.array([i for i in items.tolist() if (i, depth) not in self._rankings], dtype=np.int64)
        if len(missing) == 0:
            return
        assert state.index is not None, "seals queries the index"
        ids, sims = state.index.query(state.embeddings[missing], depth)
        for item, row_ids, row_sims in zip(missing.tolist(), ids, sims):
            self._rankings[(item, depth)] = (row_ids, row_sims)

    def neighbours_of(self, state: PoolState, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(items, ids, sims)``: each item's K nearest unlabelled neighbours (fewer only when
        the pool has fewer eligible items), flattened."""
        k, size = self.neighbours, len(state.excluded)
        out_items, out_ids, out_sims = [], [], []
        depth = min(size, 2 * k)
        todo = np.unique(np.asarray(items, dtype=np.int64))
        while len(todo) and depth <= min(size, SEALS_MAX_DEPTH * k):
            self._ranking(state, todo, depth)
            ranked = np.stack([self._rankings[(i, depth)][0] for i in todo.tolist()])
            sims = np.stack([self._rankings[(i, depth)][1] for i in todo.tolist()])
            eligible = (ranked >= 0) & ~state.excluded[np.maximum(ranked, 0)]
            enough = (eligible.sum(axis=1) >= k) | (depth >= size)
            take = eligible & (np.cumsum(eligible, axis=1) <= k) & enough[:, None]
            rows, cols = np.nonzero(take)
            out_items.append(todo[rows])
            out_ids.append(ranked[rows, cols])
            out_sims.append(sims[rows, cols])
            todo = todo[~enough]
            if depth == size:
                break
            depth = min(size, depth * 2)
        if len(todo):
            # Crowded neighbourhoods: ask the index for the K nearest eligible items directly.
            assert state.index is not None, "seals queries the index"
            ids, sims = state.index.query(state.embeddings[todo], k, exclude=state.excluded)
            rows, cols = np.nonzero(ids >= 0)
            out_items.append(todo[rows])
            out_ids.append(ids[rows, cols])
            out_sims.append(sims[rows, cols])
        if not out_ids:
            return _empty(), _empty(), np.empty(0, dtype=np.float32)
        return np.concatenate(out_items), np.concatenate(out_ids), np.concatenate(out_sims)

    def __call__(self, state: PoolState) -> Subpool:
        if len(state.labelled_ids) == 0:
            return Subpool(_random_sample(state, self.subpool_size))
        _, ids, sims = self.neighbours_of(state, state.labelled_ids)
        if len(ids) == 0:
            raise EmptyPoolError("no unlabelled neighbours of the labelled items are left")
        # Best similarity per id: sort by similarity, keep each id's first appearance.
        order = np.lexsort((ids, -sims))
        unique, first = np.unique(ids[order], return_index=True)
        scores = sims[order][first]
        ids, scores = top_by_score(unique, scores, len(unique))
        return Subpool(ids, scores)


class NoFilter:
    """The whole unlabelled pool ("No-Op")."""

    name = "none"

    def __call__(self, state: PoolState) -> Subpool:
        ids = state.unlabelled_ids
        if len(ids) == 0:
            raise EmptyPoolError("every item of the pool is labelled or skipped")
        return Subpool(ids)


def make_filter(
    name: str,
    *,
    anchors_per_class: int = 10,
    neighbours: int = 50,
    subpool_size: int = 1000,
    minority_anchor_strategy: str = "kmeans++",
    majority_anchor_strategy: str = "kmeans++",
) -> AnchorAL | RandSub | Seals | NoFilter:
    """A pool filter by name, configured with the loop's parameters."""
    if name == "anchoral":
        return AnchorAL(anchors_per_class, neighbours, subpool_size, minority_anchor_strategy, majority_anchor_strategy)
    if name == "randsub":
        return RandSub(subpool_size)
    if name == "seals":
        return Seals(neighbours, subpool_size)
    if name == "none":
        return NoFilter()
    raise InputError(f"unknown pool filter {name!r}; choose from {', '.join(POOL_FILTERS)}")
