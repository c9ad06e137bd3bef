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
pool's rows still arrive (:attr:`~..pool.Pool.missing`), a list could miss a row filled later,
so callers search directly then.

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
                self._lists, self._source = {}, (index, embeddings)
            return self._lists

    def _fetch(self, index: VectorIndex, embeddings: Any, items: np.ndarray, depth: int) -> None:
        """Fetch the lists of ``items`` that are missing or shallower than ``depth``."""
        depth = min(int(depth), index.size)
        for start in range(0, len(items), FETCH_CHUNK):
            with self._lock:
                lists = self._lists_for(index, embeddings)
                chunk = [i for i in items[start : start + FETCH_CHUNK].tolist() if len(lists.get(i, ((),))[0]) < depth]
                if not chunk:
                    continue
                ids, sims = index.query(embeddings[np.asarray(chunk, dtype=np.int64)], depth)
                for item, row_ids, row_sims in zip(chunk, ids, sims):
                    lists[item] = (row_ids, row_sims)
                self.searched += len(chunk)

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
