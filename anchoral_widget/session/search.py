"""Search the pool by meaning: a query encoded like the pool, and its nearest texts from the
index. How a user finds a first example of a class that has no label yet (cold start).

:class:`Search` is the session's part that does it: the encoder of the queries and the pool they
are searched in (the loop's, or the first embeddings' while an encoder upgrade moves the loop to
what is encoded so far).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np

from ..engine.pool import Pool
from ..errors import InputError
from .guarded import GuardedLoop
from .screen import Screen
from .worker import Worker

SEARCH_HITS = 20


def quiet_encoder(encoder):
    """A copy of ``encoder`` without a progress bar or a disk cache: one-line queries need
    neither, and caching them would fill the cache with single vectors."""
    quiet = copy.copy(encoder)
    for name, value in (("progress", False), ("cache_dir", False)):
        if hasattr(quiet, name):
            setattr(quiet, name, value)
    return quiet


def encode_query(encoder, query: str, dim: int) -> np.ndarray:
    """The query as a (1, dim) vector, or an error if the encoder is not the pool's."""
    vector = np.asarray(encoder.encode([query]), dtype=np.float32)
    if vector.shape != (1, dim):
        raise InputError(
            f"the search encoder gives {vector.shape[-1]}-d vectors but the embeddings are "
            f"{dim}-d: pass the encoder that made the embeddings"
        )
    return vector


def nearest_texts(loop, texts: Sequence[str], vector: np.ndarray, k: int = SEARCH_HITS, pool=None) -> list[dict]:
    """The ``k`` texts nearest to ``vector`` in ``pool`` (default the loop's), labelled ones
    included (with their label), so the user sees what is already known."""
    ids, sims = (loop.pool if pool is None else pool).index.query(vector, k)
    labels, skipped = loop.labels, set(loop.skipped_ids.tolist())
    return [
        {
            "id": int(i),
            "text": str(texts[int(i)]),
            "similarity": round(float(s), 4),
            "label": None if int(i) not in labels else str(labels[int(i)]),
            "skipped": int(i) in skipped,
        }
        for i, s in zip(ids[0].tolist(), sims[0].tolist())
        if i >= 0
    ]


def run_search(guarded, screen, encoder, query: str, pool=None) -> None:
    """The session's search job (worker thread): encode ``query`` outside the loop's lock, find
    its nearest texts (the loop's pool's) under it, and show them (``guarded``: a GuardedLoop,
    ``screen``: a Screen).
    ``pool``: search this pool's embeddings instead of the loop's (those ``encoder`` made)."""
    if guarded.loop is None:  # no pool to search: the start-up's error stays shown
        screen.end_search(query)
        return
    start = time.perf_counter()
    try:
        vector = encode_query(encoder, query, (guarded.loop.pool if pool is None else pool).dim)
        with guarded.held() as loop:
            results = nearest_texts(loop, loop.pool.texts, vector, pool=pool)
    except Exception:
        screen.end_search(query)
        raise
    screen.end_search(query, results, round(time.perf_counter() - start, 3))


class Search:
    """A session's searches, run on its worker in order with its other jobs.

    Parameters
    ----------
    guarded : GuardedLoop
        The loop whose labels the results show (and whose pool is searched by default).
    screen : Screen
        Where the query and its results are shown.
    worker : Worker
        The session's worker.
    encoder : object with ``encode``, optional
        The encoder that made the embeddings; without one, search says it needs one.
    """

    def __init__(self, guarded: GuardedLoop, screen: Screen, worker: Worker, encoder=None):
        self._guarded, self._screen, self._worker = guarded, screen, worker
        self.encoder = encoder
        self._query_encoder = None  # made by use(), once the loop (and so its encoder) is there
        self._pool: Pool | None = None  # what is searched when not the loop's pool (an upgrade under way)

    def use(self, encoder) -> None:
        """Encode queries with ``encoder`` from now on: the one that made the embeddings searched."""
        self.encoder, self._query_encoder = encoder, None if encoder is None else quiet_encoder(encoder)

    def search_in(self, pool: Pool | None) -> None:
        """Search ``pool`` instead of the loop's (its rows the same items); None: the loop's again.
        Called on the worker, between two searches."""
        self._pool = pool

    def start(self, query) -> None:
        """Check ``query`` and find its nearest texts in the background."""
        if not isinstance(query, str) or not query.strip():
            raise InputError("type some words to search for")
        if self.encoder is None:
            raise InputError(
                "search needs the encoder that made the embeddings: pass encoder= "
                "(an object with encode(list_of_texts))"
            )
        query = query.strip()
        self._screen.begin_search(query)
        # the query's encoder is read when the search runs: a session still preparing has none yet
        self._worker.submit(lambda: run_search(self._guarded, self._screen, self._query_encoder, query, self._pool))
