"""Pool filters: what chooses the subpool the AL strategy runs on.

``anchoral`` (anchors query the index, and optionally a uniform sample from outside their
neighbourhoods), ``randsub`` (a fresh uniform sample), ``seals`` (the neighbours of every labelled
item, growing) and ``none`` (the whole unlabelled pool).
Each returns a :class:`Subpool`: ids, their scores where the filter has one, and the anchors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import EmptyPoolError, InputError
from ..search.index import VectorIndex
from ..search.neighbour_lists import NeighbourLists
from .anchors import select_anchors

POOL_FILTERS = ("anchoral", "randsub", "seals", "none")


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
    #: Whether lists kept between iterations may answer: False while others' open batches are
    #: held out (a shared store), searched directly then. A pool whose rows still arrive keeps
    #: its lists: they are brought up to date with the rows that came (see NeighbourLists).
    reusable: bool = True

    def nearest(self, lists: NeighbourLists | None, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest eligible items of each of ``items``: from ``lists`` kept between
        iterations when they may be, by a fresh search otherwise (the same answer)."""
        assert self.index is not None, "this filter queries the index"
        if lists is None or not self.reusable:
            return self.index.query(self.embeddings[items], k, exclude=self.excluded)
        return lists.nearest(self.index, self.embeddings, items, k, self.excluded)

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


def outside_draw(state: PoolState, size: int, taken: np.ndarray) -> np.ndarray:
    """About ``size`` unlabelled items not in ``taken``, at random (sorted ids): drawn with
    replacement and thinned, so a 10M pool's mask is read at the draws only, not swept."""
    n = len(state.excluded)
    candidates = state.rng.integers(n, size=min(n, size + size // 4))
    candidates = candidates[~state.excluded[candidates] & ~np.isin(candidates, taken)]
    _, first = np.unique(candidates, return_index=True)
    return np.sort(candidates[np.sort(first)[:size]]).astype(np.int64)


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
    mean similarity, the M best.

    ``outside`` adds about that many unlabelled items drawn at random from the rest of the pool
    (score 0, retrieved by no anchor) for the strategy to weigh against the neighbourhoods: the
    labels then reach rare items no anchor is near yet, and the model sees the pool beyond its
    anchors (``benchmarks/subpool_breadth.py``). 0 is the paper's filter.

    The anchors are labelled items, so each one's neighbours are read from a list kept between
    iterations (:class:`~..search.neighbour_lists.NeighbourLists`): the same neighbours as a
    fresh search, without a sweep of the pool for an anchor seen before. :meth:`prefetch` fetches
    the lists of a batch's items ahead, while a person labels them; ``reuse_lists=False``
    searches afresh every time.
    """

    name = "anchoral"

    def __init__(
        self,
        anchors_per_class: int = 10,
        neighbours: int = 50,
        subpool_size: int = 1000,
        minority_anchor_strategy: str = "kmeans++",
        majority_anchor_strategy: str = "kmeans++",
        *,
        outside: int = 0,
        reuse_lists: bool = True,
    ):
        self.anchors_per_class = anchors_per_class
        self.outside = outside
        self.neighbours = neighbours
        self.subpool_size = subpool_size
        self.minority_anchor_strategy = minority_anchor_strategy
        self.majority_anchor_strategy = majority_anchor_strategy
        self.lists = NeighbourLists() if reuse_lists else None

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
        retrieved, sims = state.nearest(self.lists, anchor_ids, self.neighbours)
        unique, scores = mean_similarity_scores(retrieved, sims)
        if len(unique) == 0:
            raise EmptyPoolError("every item of the pool is labelled or skipped")
        ids, scores = top_by_score(unique, scores, self.subpool_size)
        retrievers = best_retriever(retrieved, sims, anchor_ids, ids)
        if self.outside > 0:
            extra = outside_draw(state, self.outside, ids)
            ids, scores = np.r_[ids, extra], np.r_[scores, np.zeros(len(extra), np.float32)]
            retrievers = np.r_[retrievers, np.full(len(extra), -1, dtype=np.int64)]
        return Subpool(ids, scores, anchor_ids, anchor_classes, retrievers)

    def prefetch(self, state: PoolState, items: np.ndarray) -> None:
        """Fetch ahead the lists the next subpools need once ``items`` (the batch on screen) are
        answered; ``state.excluded`` should hold them already. Only the wait changes."""
        if self.lists is not None and state.reusable and state.index is not None:
            self.lists.prefetch(state.index, state.embeddings, items, self.neighbours, state.excluded)


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
    neighbours are read from its list kept between iterations
    (:class:`~..search.neighbour_lists.NeighbourLists`), fetched deeper when labels gather
    around it. Coleman et al. retrieve a new label's neighbours among the unlabelled items of
    the moment it is labelled; here they are the ones unlabelled now, which differs only in that
    a neighbourhood that gets labelled is refilled from further out.
    """

    name = "seals"

    def __init__(self, neighbours: int = 50, subpool_size: int = 1000):
        self.neighbours = neighbours
        self.subpool_size = subpool_size  # only used before anything is labelled
        self.lists = NeighbourLists(first_depth_factor=2)

    def __call__(self, state: PoolState) -> Subpool:
        if len(state.labelled_ids) == 0:
            return Subpool(_random_sample(state, self.subpool_size))
        found, sims = state.nearest(self.lists, state.labelled_ids, self.neighbours)
        ids, sims = found.ravel(), sims.ravel()
        ids, sims = ids[ids >= 0], sims[ids >= 0]
        if len(ids) == 0:
            raise EmptyPoolError("no unlabelled neighbours of the labelled items are left")
        # Best similarity per id: sort by similarity, keep each id's first appearance.
        order = np.lexsort((ids, -sims))
        unique, first = np.unique(ids[order], return_index=True)
        scores = sims[order][first]
        ids, scores = top_by_score(unique, scores, len(unique))
        return Subpool(ids, scores)

    def prefetch(self, state: PoolState, items: np.ndarray) -> None:
        """As :meth:`AnchorAL.prefetch`: every labelled item's list is read at the next batch."""
        if state.reusable and state.index is not None:
            self.lists.prefetch(state.index, state.embeddings, items, self.neighbours, state.excluded)


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
    outside: int = 0,
) -> AnchorAL | RandSub | Seals | NoFilter:
    """A pool filter by name, configured with the loop's parameters."""
    if name == "anchoral":
        strategies = (minority_anchor_strategy, majority_anchor_strategy)
        return AnchorAL(anchors_per_class, neighbours, subpool_size, *strategies, outside=outside)
    if name == "randsub":
        return RandSub(subpool_size)
    if name == "seals":
        return Seals(neighbours, subpool_size)
    if name == "none":
        return NoFilter()
    raise InputError(f"unknown pool filter {name!r}; choose from {', '.join(POOL_FILTERS)}")
