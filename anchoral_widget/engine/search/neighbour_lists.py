"""Neighbour lists kept between iterations: an item's nearest items of the whole pool, fetched once
with headroom and read, iteration after iteration, as its K nearest *eligible* items.

The unlabelled set only changes by the items labelled, skipped or given back since the last
batch. An index ranks the whole pool the same way every time (best first, ties to the lower id),
so the first K eligible entries of an item's D nearest items are exactly the answer a fresh
search with the exclusion mask would give, as long as at least K of the D are eligible. A list
is therefore fetched once per item and fetched again, deeper (doubling), only when the labels
gathered around the item leave fewer than K eligible in it; past ``max_depth_factor * K`` the
index is asked for the K nearest eligible items directly. Nothing depends on the order labels
came in or on what was asked before: undoing a label makes its item eligible again in every list
that holds it, and a correction changes no list.

The lists belong to one index over one set of embeddings: asked with another (the pool swapped
to a better encoder, or an index built in the background took over), they start again. While a
pool's rows still arrive (:attr:`~..pool.Pool.missing`), its index counts what arrived (a row
keeps the vector it first got): a list kept from before a fill is brought up to date, before it
is read, by searching only the rows that arrived since and merging them in, which gives the list
a fresh search would (the same pair similarities, ties to the lower id).

Fetching is serialised by the lists' lock, held a chunk of items at a time, so that a fetch ahead of time
(:meth:`NeighbourLists.prefetch`, on a thread of its own while a person reads a batch) and a
proposal that needs lists now never search the same items twice, and the proposal waits for at
most one chunk.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .index import VectorIndex

#: Items whose lists are fetched in one query (a chunk): a proposal waits for at most one.
FETCH_CHUNK = 32


class NeighbourLists:
    """Each item's ranking of the whole pool to some depth, kept by id.

    Parameters
    ----------
    first_depth_factor : int
        A list is first fetched to this many times K.
    max_depth_factor : int
        Lists are fetched deeper (doubling) up to this many times K; beyond, the index is
        asked for the K nearest eligible items directly.
    """

    def __init__(self, first_depth_factor: int = 4, max_depth_factor: int = 32):
        self.first_depth_factor = int(first_depth_factor)
        self.max_depth_factor = int(max_depth_factor)
        self._lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # item -> (ids, sims), best first
        self._as_of: dict[int, int] = {}  # item -> the index's arrivals its list has seen (a growing pool)
        self._source: tuple[Any, Any] | None = None  # (index, embeddings) the lists were fetched from
        # the lists and their source; held through a chunk's search, so one search runs at a time
        self._lock = threading.RLock()
        #: Counters for benchmarks and tests: items searched (listed or searched directly) and
        #: items answered from a list already held.
        self.searched = 0
        self.reused = 0

    def __len__(self) -> int:
        return len(self._lists)

    def _lists_for(self, index: VectorIndex, embeddings: Any) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        with self._lock:
            if self._source is None or self._source[0] is not index or self._source[1] is not embeddings:
                self._lists, self._as_of, self._source = {}, {}, (index, embeddings)
            return self._lists

    def _fetch(self, index: VectorIndex, embeddings: Any, items: np.ndarray, depth: int) -> None:
        """Fetch the lists of ``items`` that are missing or shallower than ``depth``, and bring
        the others up to date with the rows that arrived since they were fetched."""
        depth = min(int(depth), index.size)
        arrivals = getattr(index, "arrivals", 0)  # read before searching: a row filled meanwhile is looked at again
        for start in range(0, len(items), FETCH_CHUNK):
            with self._lock:
                lists = self._lists_for(index, embeddings)
                chunk = [i for i in items[start : start + FETCH_CHUNK].tolist() if len(lists.get(i, ((),))[0]) < depth]
                if chunk:
                    ids, sims = index.query(embeddings[np.asarray(chunk, dtype=np.int64)], depth)
                    for item, row_ids, row_sims in zip(chunk, ids, sims):
                        lists[item], self._as_of[item] = (row_ids, row_sims), arrivals
                    self.searched += len(chunk)
                stale = [
                    i for i in items[start : start + FETCH_CHUNK].tolist() if self._as_of.get(i, arrivals) < arrivals
                ]
                self._catch_up(index, embeddings, lists, stale, arrivals)

    def _catch_up(
        self,
        index: Any,
        embeddings: Any,
        lists: dict[int, tuple[np.ndarray, np.ndarray]],
        stale: list[int],
        arrivals: int,
    ) -> None:
        """Merge into the lists of ``stale`` items the rows that arrived since each was made."""
        by_count: dict[int, list[int]] = {}
        for item in stale:
            by_count.setdefault(self._as_of[item], []).append(item)
        for count, group in by_count.items():
            came = index.arrived_since(count)
            if len(came):
                depth = max(len(lists[i][0]) for i in group)
                ids, sims = index.query_among(embeddings[np.asarray(group, dtype=np.int64)], depth, came)
                for item, new_ids, new_sims in zip(group, ids, sims):
                    lists[item] = _merged(lists[item], (new_ids, new_sims), len(lists[item][0]))
            for item in group:
                self._as_of[item] = arrivals

    def nearest(
        self, index: VectorIndex, embeddings: Any, items: Any, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest eligible (not ``excluded``) items of each of ``items``: ``(ids, sims)``
        of shape ``(len(items), k)``, best first, padded with -1 / -inf: what
        ``index.query(embeddings[items], k, exclude=excluded)`` answers."""
        items = np.asarray(items, dtype=np.int64).reshape(-1)
        out_ids = np.full((len(items), k), -1, dtype=np.int64)
        out_sims = np.full((len(items), k), -np.inf, dtype=np.float32)
        if k <= 0 or len(items) == 0:
            return out_ids, out_sims
        size = index.size
        rows = np.arange(len(items))
        unique = np.unique(items)
        depth = min(size, self.first_depth_factor * k)
        held = self._lists_for(index, embeddings)
        self.reused += sum(1 for i in unique.tolist() if len(held.get(i, ((),))[0]) >= depth)
        while len(rows):
            self._fetch(index, embeddings, np.unique(items[rows]), depth)
            lists = self._lists_for(index, embeddings)
            done = []
            for row in rows.tolist():
                entry = lists.get(int(items[row]))
                if entry is None:  # dropped for another index meanwhile: search directly below
                    continue
                ids, sims = entry
                whole = len(ids) >= size  # the list ranks every item there is
                eligible = (ids >= 0) & ~excluded[np.maximum(ids, 0)]
                if eligible.sum() >= k or whole:
                    take = np.flatnonzero(eligible)[:k]
                    out_ids[row, : len(take)] = ids[take]
                    out_sims[row, : len(take)] = sims[take]
                    done.append(row)
            rows = np.setdiff1d(rows, done)
            if depth >= min(size, self.max_depth_factor * k):
                break
            depth = min(size, depth * 2)
        if len(rows):
            # Crowded neighbourhoods: the index finds the K nearest eligible items directly.
            ids, sims = index.query(embeddings[items[rows]], k, exclude=excluded)
            out_ids[rows], out_sims[rows] = ids, sims
            self.searched += len(rows)
        return out_ids, out_sims

    def prefetch(self, index: VectorIndex, embeddings: Any, items: Any, k: int, excluded: np.ndarray) -> None:
        """Fetch ahead what the next :meth:`nearest` calls will need once ``excluded`` holds
        (the batch on screen answered): the lists of ``items``, and a deeper list for every list
        held that would then have fewer than ``k`` eligible entries. Only time moves: the
        answers of :meth:`nearest` are the same with or without it."""
        items = np.unique(np.asarray(items, dtype=np.int64).reshape(-1))
        self._fetch(index, embeddings, items, min(index.size, self.first_depth_factor * k))
        lists = self._lists_for(index, embeddings)
        with self._lock:
            held = list(lists.items())
        cap = min(index.size, self.max_depth_factor * k)
        short: dict[int, list[int]] = {}
        for item, (ids, _) in held:
            if len(ids) >= cap:
                continue
            if int(((ids >= 0) & ~excluded[np.maximum(ids, 0)]).sum()) < k:
                short.setdefault(min(cap, 2 * len(ids)), []).append(item)
        for depth, deeper in sorted(short.items()):
            self._fetch(index, embeddings, np.asarray(deeper, dtype=np.int64), depth)


def _merged(
    held: tuple[np.ndarray, np.ndarray], came: tuple[np.ndarray, np.ndarray], depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``depth`` best of a list and the best of the rows that arrived since, by similarity
    then lower id, each id once (a row filled while its list was searched may be in both)."""
    ids, sims = np.concatenate([held[0], came[0]]), np.concatenate([held[1], came[1]])
    keep = ids >= 0
    ids, sims = ids[keep], sims[keep]
    _, first = np.unique(ids, return_index=True)
    ids, sims = ids[first], sims[first]
    order = np.lexsort((ids, -sims))[:depth]
    out_ids = np.full(depth, -1, dtype=np.int64)
    out_sims = np.full(depth, -np.inf, dtype=np.float32)
    out_ids[: len(order)], out_sims[: len(order)] = ids[order], sims[order]
    return out_ids, out_sims
