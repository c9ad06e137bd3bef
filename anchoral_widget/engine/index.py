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
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

from ..errors import InputError
from .pool import check_embeddings as _check_embeddings

#: ``"auto"`` answers exactly up to this many items and builds HNSW beyond. Measured
#: (benchmarks/late_wait.py): exact search of 20 anchors over 1M x 384 float32 took 0.46-0.55 s
#: a query on 2 shared cores (load ~2), the same from 100 to 5,000 labels, with nothing to build;
#: an HNSW build of 1M takes ~14 min on 2 cores. Exact search grows linearly beyond: ~1 s at 2M.
EXACT_UP_TO = 1_000_000
#: Exact search reads the pool in blocks of this many rows, so its scratch memory stays bounded
#: (queries x rows x 4 bytes) whatever the pool size.
ROW_BLOCK = 65_536
QUERY_BLOCK = 64


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


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InputError(f"query vectors have shape {vectors.shape}, the index holds {dim}-d vectors")
    return vectors


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return out


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` with l2-normalised rows, float32 and C-contiguous: the array itself when it
    already is (sentence embeddings usually are), so a large pool is not copied."""
    embeddings = _check_embeddings(embeddings)
    for start in range(0, len(embeddings), ROW_BLOCK):
        block = embeddings[start : start + ROW_BLOCK]
        # squared norms without a temporary the size of the block (4x faster than linalg.norm)
        if np.abs(np.einsum("ij,ij->i", block, block) - 1).max() > 2e-4:
            break
    else:
        return embeddings
    out = np.empty_like(embeddings)
    for start in range(0, len(embeddings), ROW_BLOCK):
        out[start : start + ROW_BLOCK] = _normalise(embeddings[start : start + ROW_BLOCK])
    return out


def _merge_top(
    rows: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``k`` best (similarity, then lower id) of each row of flat candidate triples."""
    order = np.lexsort((ids, -sims, rows))
    rows, ids, sims = rows[order], ids[order], sims[order]
    starts = np.searchsorted(rows, rows, side="left")
    keep = np.arange(len(rows)) - starts < k
    return rows[keep], ids[keep], sims[keep]


def exact_search(
    pool: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine search of unit ``queries`` over unit rows of ``pool``: ``(ids, sims)`` of shape
    ``(len(queries), k)``, best first, ties to the lower id, padded with -1 / -inf.

    ``exclude`` masks pool rows; ``candidates`` (sorted ids), if given, restricts the search to
    those rows. The pool is read in blocks of :data:`ROW_BLOCK` rows and the queries in blocks of
    :data:`QUERY_BLOCK`, so scratch memory is bounded; the answer does not depend on the blocks.
    """
    nq = len(queries)
    out_ids = np.full((nq, k), -1, dtype=np.int64)
    out_sims = np.full((nq, k), -np.inf, dtype=np.float32)
    if k <= 0 or nq == 0:
        return out_ids, out_sims
    # Each block is either explicit ids (a gather) or a range of rows (a view of the pool).
    spans: list[tuple[np.ndarray | None, slice]]
    if candidates is not None:
        candidates = np.asarray(candidates, dtype=np.int64)
        if exclude is not None:
            candidates = candidates[~exclude[candidates]]
        spans = [(candidates[s : s + ROW_BLOCK], slice(0, 0)) for s in range(0, len(candidates), ROW_BLOCK)]
    else:
        spans = [(None, slice(s, min(s + ROW_BLOCK, len(pool)))) for s in range(0, len(pool), ROW_BLOCK)]
    for q0 in range(0, nq, QUERY_BLOCK):
        q = queries[q0 : q0 + QUERY_BLOCK]
        best_rows = np.empty(0, dtype=np.int64)
        best_ids = np.empty(0, dtype=np.int64)
        best_sims = np.empty(0, dtype=np.float32)
        # Each row's k-th best similarity so far (-inf until it has k): later blocks only need
        # to look at what beats it, which after the first block is a handful of items.
        bar = np.full(len(q), -np.inf, dtype=np.float32)
        for picked, span in spans:
            if picked is not None:
                if len(picked) == 0:
                    continue
                sims = q @ pool[picked].T
                block_ids = picked
            else:
                sims = q @ pool[span].T
                block_ids = np.arange(span.start, span.stop)
                if exclude is not None:
                    sims[:, exclude[span]] = -np.inf
            width = sims.shape[1]
            mask = sims >= bar[:, None]
            if not np.isfinite(bar).all():  # a -inf bar lets excluded (-inf) items through
                mask &= np.isfinite(sims)
            # one pass over the block, flat (2-d nonzero is several times slower at 1M rows)
            flat = np.flatnonzero(mask)
            if width > k and len(flat) > 4 * k * len(q):
                # Everything at least as good as each row's k-th best in this block: ties at the
                # cut all stay, so the merge below can break them by id.
                kth = np.partition(sims, width - k, axis=1)[:, width - k]
                mask &= sims >= kth[:, None]
                flat = np.flatnonzero(mask)
            r, c = np.divmod(flat, width)
            best_rows, best_ids, best_sims = _merge_top(
                np.concatenate([best_rows, r]),
                np.concatenate([best_ids, block_ids[c]]),
                np.concatenate([best_sims, sims[r, c]]),
                k,
            )
            if len(best_rows):
                full = np.bincount(best_rows, minlength=len(q)) >= k
                last = np.searchsorted(best_rows, np.arange(len(q)), side="right") - 1
                bar = np.where(full, best_sims[np.maximum(last, 0)], -np.inf).astype(np.float32)
        rank = np.arange(len(best_rows)) - np.searchsorted(best_rows, best_rows, side="left")
        out_ids[q0 + best_rows, rank] = best_ids
        out_sims[q0 + best_rows, rank] = best_sims
    return out_ids, out_sims


class ExactIndex:
    """Brute-force cosine search: one BLAS pass over the embeddings per query, in bounded blocks.

    Exact, deterministic (ties go to the lower id) and with nothing to build; the default up to
    :data:`EXACT_UP_TO` items. The embeddings are used in place when they are already unit rows.
    """

    def __init__(self, embeddings: np.ndarray, *, missing: np.ndarray | None = None):
        # ``missing``: rows with no vector yet (a pool whose embeddings arrive in parts, read
        # live: rows filled later are searched from then on); the others are unit rows already
        self._vectors = unit_rows(embeddings) if missing is None else embeddings
        self._missing = missing
        self.size, self.dim = self._vectors.shape

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vectors = _normalise(_as_matrix(vectors, self.dim))
        exclude = None if exclude is None else np.asarray(exclude, dtype=bool)
        if self._missing is not None:
            exclude = self._missing.copy() if exclude is None else exclude | self._missing
        return exact_search(self._vectors, vectors, int(k), exclude)


def index_kind(kind: str, size: int, exact_up_to: int = EXACT_UP_TO, *, mapped: bool = False) -> str:
    """What :func:`build_index` makes of ``kind`` for a pool of ``size`` items: ``"auto"`` is
    ``"exact"`` up to ``exact_up_to`` items and beyond, ``"hnsw"`` for embeddings in memory and
    ``"faiss"`` for ``mapped`` ones (left on disk); other kinds are themselves."""
    if kind == "auto":
        return "exact" if size <= exact_up_to else "faiss" if mapped else "hnsw"
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
        kind = index_kind(kind, len(embeddings), exact_up_to, mapped=isinstance(embeddings, np.memmap))
    if kind not in ("auto", "exact", "hnsw"):
        from .backends import open_index

        return open_index(kind, embeddings, seed=0 if seed is None else seed, cache_dir=cache_dir, **kwargs)
    embeddings = _check_embeddings(embeddings)
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
