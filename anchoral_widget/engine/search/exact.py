"""Exact cosine search over the pool's embeddings, in blocks bounded in memory: the default index
up to :data:`~.index.EXACT_UP_TO` items, and the check every approximate index is measured
against (HNSW answers exactly through it when its recall check fails)."""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ..vectors.matrix import check_embeddings

#: Exact search reads the pool in blocks of this many rows, so its scratch memory stays bounded
#: (queries x rows x 4 bytes) whatever the pool size.
ROW_BLOCK = 65_536
QUERY_BLOCK = 64
#: A float32 product of two unit d-vectors is within d x 2^-24 of the true one (a worst-case
#: bound on the rounding of its sum): candidates are kept within four times that of the cut.
SLACK_PER_DIM = 2.0**-22
#: A pool whose rows still arrive is searched through the rows it has (a gather) while they are
#: fewer than this share of it; beyond, one sweep of every row with the others masked is cheaper.
GATHER_UP_TO = 0.5


def as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InputError(f"query vectors have shape {vectors.shape}, the index holds {dim}-d vectors")
    return vectors


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return out


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` with l2-normalised rows, float32 and C-contiguous: the array itself when it
    already is (sentence embeddings usually are), so a large pool is not copied."""
    embeddings = check_embeddings(embeddings)
    for start in range(0, len(embeddings), ROW_BLOCK):
        block = embeddings[start : start + ROW_BLOCK]
        # squared norms without a temporary the size of the block (4x faster than linalg.norm)
        if np.abs(np.einsum("ij,ij->i", block, block) - 1).max() > 2e-4:
            break
    else:
        return embeddings
    out = np.empty_like(embeddings)
    for start in range(0, len(embeddings), ROW_BLOCK):
        out[start : start + ROW_BLOCK] = normalise(embeddings[start : start + ROW_BLOCK])
    return out


def merge_top(rows: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    # The block's products only choose candidates: a product's last bits depend on the other
    # queries and rows in its block, so an item's neighbours would depend on what was asked with
    # it. The candidates (everything within the products' rounding error of the cut) are ranked
    # by their similarity pair by pair (:func:`pair_similarities`), the same however asked.
    slack = SLACK_PER_DIM * pool.shape[1]
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
            mask = sims >= (bar - slack)[:, None]
            if not np.isfinite(bar).all():  # a -inf bar lets excluded (-inf) items through
                mask &= np.isfinite(sims)
            # one pass over the block, flat (2-d nonzero is several times slower at 1M rows)
            flat = np.flatnonzero(mask)
            if width > k and len(flat) > 4 * k * len(q):
                # Everything that may be as good as each row's k-th best in this block: ties at
                # the cut all stay, so the merge below can break them by id.
                kth = np.partition(sims, width - k, axis=1)[:, width - k]
                mask &= sims >= (kth - slack)[:, None]
                flat = np.flatnonzero(mask)
            r, c = np.divmod(flat, width)
            best_rows, best_ids, best_sims = merge_top(
                np.concatenate([best_rows, r]),
                np.concatenate([best_ids, block_ids[c]]),
                np.concatenate([best_sims, pair_similarities(pool, q, r, block_ids[c])]),
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


def pair_similarities(pool: np.ndarray, queries: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``queries[rows] . pool[ids]`` pair by pair, summed in float64 and rounded to float32: the
    same value for a pair however the queries were grouped."""
    if len(ids) == 0:
        return np.empty(0, dtype=np.float32)
    items, asked = np.asarray(pool[ids], dtype=np.float64), np.asarray(queries[rows], dtype=np.float64)
    products: np.ndarray = np.einsum("ij,ij->i", items, asked).astype(np.float32)
    return products


class ExactIndex:
    """Brute-force cosine search: one BLAS pass over the embeddings per query, in bounded blocks.

    Exact, deterministic (ties go to the lower id) and with nothing to build; the default up to
    :data:`EXACT_UP_TO` items. The embeddings are used in place when they are already unit rows.
    """

    def __init__(self, embeddings: np.ndarray, *, missing: np.ndarray | None = None, device: str = "auto"):
        # ``missing``: rows with no vector yet (a pool whose embeddings arrive in parts, read
        # live: rows filled later are searched from then on); the others are unit rows already
        self._vectors = unit_rows(embeddings) if missing is None else embeddings
        self._missing = missing
        self._arrivals: list[np.ndarray] = []  # rows given a vector since, in order (see arrived)
        self.size, self.dim = self._vectors.shape
        #: The pool's rows on a CUDA device, where there is one with room for them ("auto") and
        #: the rows are all there: the same answers, a sweep in milliseconds.
        self.on_device = None
        if device not in ("auto", "cpu"):
            raise InputError(f"device must be 'auto' or 'cpu', got {device!r}")
        if device == "auto" and missing is None:
            from .gpu import DeviceRows, device_capacity

            if device_capacity(self.dim) >= self.size:
                self.on_device = DeviceRows(self._vectors)

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vectors = normalise(as_matrix(vectors, self.dim))
        exclude = None if exclude is None else np.asarray(exclude, dtype=bool)
        if self._missing is not None:
            exclude = self._missing.copy() if exclude is None else exclude | self._missing
            present = np.flatnonzero(~exclude)
            if len(present) < GATHER_UP_TO * self.size:  # early in an upgrade: few rows are in
                return exact_search(self._vectors, vectors, int(k), candidates=present)
        if self.on_device is not None:
            return self.on_device.search(vectors, int(k), exclude)
        return exact_search(self._vectors, vectors, int(k), exclude)

    # ---- a pool whose rows arrive: what came since ---------------------------------------------

    def complete(self) -> bool:
        """The pool's last missing row arrived: search every row from now on, as an index made
        over the whole pool would, keeping what was counted (lists kept stay true). False, and
        nothing changed, where an index made now would keep the rows on a CUDA device."""
        from .gpu import device_capacity

        if self._missing is None or device_capacity(self.dim) >= self.size:
            return False
        self._missing = None
        return True

    @property
    def arrivals(self) -> int:
        """How many fills this index has heard of (:meth:`arrived`): a list kept at one count is
        brought up to date by searching :meth:`arrived_since` that count."""
        return len(self._arrivals)

    def arrived(self, ids: np.ndarray) -> None:
        """Rows ``ids`` now have their vectors (:meth:`~..pool.Pool.fill`, after writing them)."""
        self._arrivals.append(np.asarray(ids, dtype=np.int64))

    def arrived_since(self, count: int) -> np.ndarray:
        """The rows given a vector after the first ``count`` fills (sorted ids)."""
        later = self._arrivals[count:]
        return np.unique(np.concatenate(later)) if later else np.empty(0, dtype=np.int64)

    def query_among(self, vectors: np.ndarray, k: int, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query` restricted to ``candidates`` (sorted ids of rows that have vectors)."""
        vectors = normalise(as_matrix(vectors, self.dim))
        return exact_search(self._vectors, vectors, int(k), candidates=np.asarray(candidates, dtype=np.int64))
