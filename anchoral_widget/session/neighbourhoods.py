"""What the encoder upgrade encodes first: the labelled items and their neighbourhoods.

A loop only ever reads the vectors of its labelled items (training, anchors) and of the items
near its anchors (the subpool). So the upgrade does not make the loop wait for the whole pool:
it encodes each labelled item and its :data:`NEIGHBOURS` nearest items *in the first
embeddings* first (new labels go to the front, minority labels before the others), and the
loop moves to the new embeddings as soon as the labels and the minority labels' neighbourhoods
are in, searching only the items encoded so far (:meth:`~..engine.pool.Pool.swap` with
``missing=``); the rest of the pool follows chunk by chunk. Replayed on the whole icd10-eye and
tweets pools at 1% and 0.1% (10 seeds), the loop then finds as many rare items as MiniLM from the
start at a person's 30 s and 10 s a batch on this machine's one core, where waiting for the whole
pool found up to 22% fewer; over 30 seeds, 1% fewer on icd10-eye at 0.1% and 6% fewer on tweets
at 1% at 30 s a batch (benchmarks/RESULTS.md, ``near_labels_30``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

#: Items encoded first around each labelled item: its nearest in the first embeddings (the
#: setting measured in ``benchmarks/near_labels.py``, whose ``--neighbours`` tries others).
NEIGHBOURS = 100
#: A minority label's wider neighbourhood, queued ahead of the majority labels' neighbourhoods:
#: the first embeddings' ranking is rough (``fast`` keeps half of MiniLM's 10 nearest in its
#: own), so a rare item MiniLM puts near a rare label often sits far down the first list. At 0.1%
#: this took icd10-eye at a quarter of this machine's one-core rate from 8% below MiniLM from the
#: start to 2% (``near_labels.py --rare-neighbours``; 2,000 found the same).
RARE_NEIGHBOURS = 1000


class Neighbourhoods:
    """The order in which the upgrade encodes a pool of ``n`` items, and what it has encoded.

    Parameters
    ----------
    embeddings : (n, d) array
        The first embeddings (those the session starts on).
    index : object with ``query(vectors, k)``
        Their index: where a labelled item's neighbours are found.
    neighbours : int
        How many neighbours of each labelled item come first.
    rare_neighbours : int
        How many neighbours of a minority label are encoded in all (at least ``neighbours``).
    """

    def __init__(
        self, embeddings: Any, index: Any, neighbours: int = NEIGHBOURS, rare_neighbours: int = RARE_NEIGHBOURS
    ):
        self.embeddings, self.index, self.neighbours = embeddings, index, int(neighbours)
        self.rare_neighbours = max(self.neighbours, int(rare_neighbours))
        n = len(embeddings)
        self.missing = np.ones(n, dtype=bool)  # no new vector yet
        self._seen = np.zeros(n, dtype=bool)  # labelled items whose neighbourhood is queued
        # what the loop needs before it can move (labelled items, minority neighbourhoods); the rest
        self._urgent: deque[int] = deque()
        self._rest: deque[int] = deque()

    def add(self, labels: dict[int, Any], minority: Iterable[Any]) -> int:
        """Queue the labelled items not seen before and their neighbourhoods, ahead of what was
        queued: the items themselves, then the neighbourhoods of the minority ones, then their
        wider neighbourhoods (:data:`RARE_NEIGHBOURS`), then the others'. Returns how many
        labelled items were new."""
        minority = set(minority)
        new = sorted((i for i in labels if not self._seen[i]), key=lambda i: (labels[i] not in minority, i))
        if not new:
            return 0
        self._seen[new] = True
        rare = [i for i in new if labels[i] in minority]
        common = new[len(rare) :]
        around_rare = self._near(rare, self.rare_neighbours)
        close, wide = around_rare[:, : self.neighbours], around_rare[:, self.neighbours :]
        self._urgent.extendleft(reversed(self._missing_of(new + close.ravel().tolist())))
        rest = wide.ravel().tolist() + self._near(common, self.neighbours).ravel().tolist()
        self._rest.extendleft(reversed(self._missing_of(rest)))
        return len(new)

    def _near(self, ids: list[int], k: int) -> np.ndarray:
        if not ids:
            return np.empty((0, 0), dtype=np.int64)
        near, _ = self.index.query(np.asarray(self.embeddings[ids], dtype=np.float32), min(k, len(self.embeddings)))
        return np.asarray(near)

    def _missing_of(self, ids: list[int]) -> list[int]:
        return [i for i in dict.fromkeys(ids) if i >= 0 and self.missing[i]]

    def take(self, count: int) -> list[int]:
        """Up to ``count`` ids to encode next, in order (none already encoded)."""
        out: dict[int, None] = {}
        for queue in (self._urgent, self._rest):
            while queue and len(out) < count:
                i = queue.popleft()
                if self.missing[i]:
                    out[i] = None
        return list(out)

    def done(self, ids: Any) -> None:
        """``ids`` are encoded."""
        self.missing[np.asarray(ids, dtype=np.int64)] = False

    def _left(self, queue: deque[int]) -> bool:
        # drop what was encoded meanwhile from the head: a queue's head is then still to encode
        while queue and not self.missing[queue[0]]:
            queue.popleft()
        return bool(queue)

    @property
    def urgent(self) -> bool:
        """Whether a labelled item, or an item near a minority label, is still to encode."""
        return self._left(self._urgent)

    @property
    def pending(self) -> bool:
        """Whether anything queued is still to encode."""
        return self._left(self._urgent) or self._left(self._rest)
