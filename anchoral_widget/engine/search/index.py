"""Vector indexes over the pool's embeddings: exact search (the default) and an HNSW index.

Both answer "the k nearest items to these vectors by cosine similarity, leaving out these ids",
so that labelled items never come back from a query. The index itself never changes once
built: exclusion is applied per query, so one index can serve several loops at once, and an
answer depends only on the query vectors and the exclusion mask (never on earlier queries).

Why exact search is the default: an HNSW graph built with the paper's settings (M=64,
ef_construction=200) was measured to miss neighbours in the tight regions where a rare class
lives (minority recall@50 0.9925, min 0.75, against 0.9998 for majority anchors), and 97.8% of the
items it dropped from subpools were minority. Exact search is one BLAS pass over the embeddings,
needs no build, and answers a 20-anchor query at 1M x 384 in about half a second on 2 cores, so
``"auto"`` uses it up to :data:`EXACT_UP_TO` items (see ``benchmarks/late_wait.py`` and
``benchmarks/index_fidelity.py`` for the measurements). Beyond that, HNSW is built with
``ef_construction=500`` (which recovered the minority recall) and every query checks its recall
against exact search on a sample of its own rows, answering exactly when the check fails. A
memory-mapped pool beyond that size gets FAISS's IVF-PQ instead (``backends.faiss``): an
in-memory HNSW graph would first copy the whole file into memory, which is what mapping it avoids.
On a machine with a CUDA device, ``"auto"`` is exact search up to what the device holds
(:mod:`.gpu`), with the same answers.

The loop's filters read an anchor's neighbours from lists kept between iterations
(:mod:`.neighbour_lists`): a list is fetched once per labelled item, most of them while the person
reads a batch, so the wait after a submit holds no sweep of the pool whatever its size.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

from ...errors import InputError
from ..vectors.matrix import check_embeddings
from .exact import ExactIndex

#: ``"auto"`` answers exactly up to this many items and builds HNSW beyond. Measured
#: (benchmarks/late_wait.py): exact search of 20 anchors over 1M x 384 float32 took 0.46-0.55 s
#: a query on 2 shared cores (load ~2), the same from 100 to 5,000 labels, with nothing to build;
#: an HNSW build of 1M takes ~14 min on 2 cores. Exact search grows linearly beyond: ~1 s at 2M.
EXACT_UP_TO = 1_000_000


class VectorIndex(Protocol):
    """What the loop needs from an index."""

    dim: int
    size: int

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(ids, similarities)`` of shape ``(len(vectors), k)``, best first.

        ``exclude`` is a boolean mask over the pool; excluded items never come back. Rows with
        fewer than ``k`` eligible items are padded with id ``-1`` and similarity ``-inf``.
        """
        ...


def index_kind(
    kind: str, size: int, exact_up_to: int = EXACT_UP_TO, *, mapped: bool = False, dim: int | None = None
) -> str:
    """What :func:`build_index` makes of ``kind`` for a pool of ``size`` items: ``"auto"`` is
    ``"exact"`` up to ``exact_up_to`` items, or up to what a CUDA device holds of ``dim``-d rows
    when the machine has one (a sweep there takes milliseconds), and beyond, ``"hnsw"`` for
    embeddings in memory and ``"faiss"`` for ``mapped`` ones (left on disk); other kinds are
    themselves."""
    if kind == "auto":
        if size <= exact_up_to:
            return "exact"
        if dim is not None:
            from .gpu import device_capacity

            if device_capacity(dim) >= size:
                return "exact"
        return "faiss" if mapped else "hnsw"
    return kind


def build_index(
    embeddings: np.ndarray,
    kind: str = "auto",
    *,
    seed: int | None = None,
    exact_up_to: int = EXACT_UP_TO,
    cache_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Build an index: ``"exact"``, ``"hnsw"``, or ``"auto"`` (exact up to ``exact_up_to`` items,
    HNSW with a recall check beyond). With ``cache_dir``, an HNSW index is loaded from / saved
    to that folder. ``seed`` is the HNSW graph's build seed (default :data:`HNSW_SEED`), not a
    loop's seed: runs with different seeds share one index. Any other ``kind`` (``"faiss"``,
    ``"milvus://host:port/collection"``, ...) goes to :func:`.backends.open_index`, which reads
    the embeddings as they are (a memory-mapped pool stays on disk)."""
    if kind == "auto":
        mapped = isinstance(embeddings, np.memmap)
        kind = index_kind(kind, len(embeddings), exact_up_to, mapped=mapped, dim=np.shape(embeddings)[1])
    if kind not in ("auto", "exact", "hnsw"):
        from .backends import open_index

        return open_index(kind, embeddings, seed=0 if seed is None else seed, cache_dir=cache_dir, **kwargs)
    embeddings = check_embeddings(embeddings)
    kind = index_kind(kind, len(embeddings), exact_up_to)
    if kind == "exact":
        return ExactIndex(embeddings)
    if kind == "hnsw":
        from .hnsw import HNSW_SEED, HnswIndex, cached_hnsw  # hnswlib is imported only for it

        seed = HNSW_SEED if seed is None else seed
        if cache_dir is not None:
            return cached_hnsw(embeddings, cache_dir, seed=seed, **kwargs)
        return HnswIndex.build(embeddings, seed=seed, **kwargs)
    raise InputError(f"unknown index kind {kind!r}; use 'exact', 'hnsw' or 'auto'")
