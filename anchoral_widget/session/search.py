"""Search the pool by meaning: a query encoded like the pool, and its nearest texts from the
index. How a user finds a first example of a class that has no label yet (cold start)."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np

from ..errors import InputError

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


def run_search(guarded, screen, encoder, texts: Sequence[str], query: str, pool=None) -> None:
    """The session's search job (worker thread): encode ``query`` outside the loop's lock, find
    its nearest texts under it, and show them (``guarded``: a GuardedLoop, ``screen``: a Screen).
    ``pool``: search this pool's embeddings instead of the loop's (those ``encoder`` made)."""
    if guarded.loop is None:  # no pool to search: the start-up's error stays shown
        screen.end_search(query)
        return
    start = time.perf_counter()
    try:
        vector = encode_query(encoder, query, (guarded.loop.pool if pool is None else pool).dim)
        with guarded.held() as loop:
            results = nearest_texts(loop, texts, vector, pool=pool)
    except Exception:
        screen.end_search(query)
        raise
    screen.end_search(query, results, round(time.perf_counter() - start, 3))
