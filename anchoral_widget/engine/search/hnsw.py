"""The HNSW index (hnswlib): the approximate index ``index="hnsw"`` builds, and ``"auto"`` beyond
:data:`~.index.EXACT_UP_TO` items for embeddings held in memory.

Built with ``ef_construction=500`` (the paper's 200 missed neighbours inside tight minority
clusters), cached on disk by the pool's fingerprint, and checked per query: labelled items are
excluded by over-fetching (up to :data:`MAX_OVERFETCH` times k) and by exact search over the
eligible items when few are left, and each query's recall is checked against exact search on a
sample of its rows (:data:`CHECK_ROWS`), answering exactly when it falls below
:data:`MIN_RECALL`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .exact import ROW_BLOCK, as_matrix, exact_search, merge_top, normalise, unit_rows

HNSW_M = 64
#: Raised from the paper's 200: at 200 the graph was poorly connected inside tight minority
#: clusters (minority recall@50 0.9925, min 0.75); at 500 minority recall was 0.9993, none < 0.9.
HNSW_EF_CONSTRUCTION = 500
HNSW_EF = 200
#: The graph's build seed. Fixed, and not the loop's seed: one index serves every run on a pool.
HNSW_SEED = 0

#: HNSW over-fetches to make up for excluded items, doubling up to this multiple of k; rows still
#: short after that are answered by exact search over the eligible items.
MAX_OVERFETCH = 8
#: Below this many eligible items, HNSW queries are answered by exact search over them (cheap,
#: and hnswlib cannot always return k results from a nearly exhausted, duplicate-heavy pool).
EXACT_WHEN_FEWER = 4_096
#: Recall check of approximate answers: rows checked per query, and the recall@k below which the
#: whole query is answered exactly (with a warning).
CHECK_ROWS = 2
MIN_RECALL = 0.9


def _stored_dim(path: Path) -> int:
    """The vector size recorded in an hnswlib file's header (hnswlib itself trusts the caller).

    The header starts with six size_t fields; the vector bytes lie between the level-0 links
    (offsetData) and the label (label_offset), 4 bytes per float32 dimension. Only those 48 bytes
    are read.
    """
    with open(path, "rb") as fh:
        header = fh.read(48)
    if len(header) < 48:
        raise InputError(f"index file {path} is truncated ({path.stat().st_size} bytes)")
    fields = np.frombuffer(header, dtype="<u8")
    label_offset, offset_data = int(fields[4]), int(fields[5])
    if label_offset <= offset_data or (label_offset - offset_data) % 4:
        raise InputError(f"index file {path} is corrupt (its header makes no sense)")
    return (label_offset - offset_data) // 4


def _row_keys(vectors: np.ndarray) -> np.ndarray:
    """A stable pseudo-random key per row, from its bytes: which rows a recall check samples
    depends on the query alone, so an answer never depends on earlier queries."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") for row in vectors],
        dtype=np.uint64,
    )


class HnswIndex:
    """Approximate cosine search with hnswlib (M=64, ef_construction=500, ef=200), for pools
    beyond :data:`EXACT_UP_TO`.

    Exclusion is done by over-fetching, doubling the request for rows that came back short, up
    to :data:`MAX_OVERFETCH` times k; rows still short (their neighbourhood is mostly labelled)
    and rows hnswlib cannot fill are answered by exact search over the eligible items, and so is
    every query once fewer than :data:`EXACT_WHEN_FEWER` items are eligible. With the pool's
    vectors at hand, each query also checks its recall@k against exact search on ``check_rows``
    of its rows (chosen by a hash of the row); when one falls below ``min_recall`` the whole
    query is answered exactly and a warning says so. ``recalls_`` keeps the measured values.
    """

    def __init__(
        self,
        index: Any,
        size: int,
        dim: int,
        vectors: np.ndarray | None = None,
        *,
        check_rows: int = CHECK_ROWS,
        min_recall: float = MIN_RECALL,
    ):
        self._index = index
        self.size = size
        self.dim = dim
        self._vectors = None if vectors is None else unit_rows(vectors)
        if self._vectors is not None and self._vectors.shape != (size, dim):
            raise InputError(f"vectors of shape {self._vectors.shape} given for an index of {size} x {dim}")
        self.check_rows = int(check_rows)
        self.min_recall = float(min_recall)
        self.recalls_: list[float] = []
        self.fallbacks_ = 0  # queries answered exactly after a failed recall check
        self._lock = threading.Lock()  # set_ef is index-wide state

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        *,
        seed: int = HNSW_SEED,
        num_threads: int = 1,
        progress: bool | Callable[[int, int], None] = False,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        M: int = HNSW_M,
        **kwargs: Any,
    ) -> HnswIndex:
        """Build over all rows of ``embeddings``; row i gets id i.

        ``num_threads=1`` (the default) makes the graph identical from one build to the next;
        more threads build faster but insert in a nondeterministic order. ``kwargs`` go to the
        constructor (``check_rows``, ``min_recall``). ``progress``: True for a progress bar, or a
        callable told ``(items added, size)`` after each chunk.
        """
        import hnswlib

        embeddings = unit_rows(embeddings)
        size, dim = embeddings.shape
        index = hnswlib.Index(space="cosine", dim=dim)
        index.init_index(max_elements=size, ef_construction=ef_construction, M=M, random_seed=seed)
        chunk = 10_000
        starts = range(0, size, chunk)
        if progress is True:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="indexing", unit="chunk")
        for start in starts:
            stop = min(start + chunk, size)
            index.add_items(embeddings[start:stop], np.arange(start, stop), num_threads=num_threads)
            if callable(progress):
                progress(stop, size)
        index.set_ef(HNSW_EF)
        return cls(index, size, dim, embeddings, **kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index atomically: a crash never leaves a half-written file behind."""
        path = Path(path)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        self._index.save_index(str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        dim: int,
        size: int | None = None,
        vectors: np.ndarray | None = None,
        **kwargs: Any,
    ) -> HnswIndex:
        """Load a saved index; ``dim`` (and ``size`` if given) must match the pool. Pass the
        pool's ``vectors`` for the exact fallbacks and the recall check (without them, short
        rows are filled from the vectors hnswlib stores, and nothing is checked)."""
        import hnswlib

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no index at {path}")
        stored_dim = _stored_dim(path)
        if stored_dim != dim:
            raise InputError(f"index file {path} holds {stored_dim}-d vectors, the pool has {dim}-d")
        index = hnswlib.Index(space="cosine", dim=dim)
        try:
            index.load_index(str(path))
        except RuntimeError as err:
            raise InputError(f"index file {path} is corrupt or was built for another dimension: {err}") from err
        count = index.get_current_count()
        if size is not None and count != size:
            raise InputError(f"index file {path} holds {count} items, the pool has {size}")
        index.set_ef(HNSW_EF)
        return cls(index, count, dim, vectors, **kwargs)

    # ---- exact search over the eligible items ------------------------------------------------

    def _exact(self, queries: np.ndarray, k: int, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eligible = np.flatnonzero(~exclude)
        if self._vectors is not None:
            if len(eligible) <= self.size // 4:
                return exact_search(self._vectors, queries, k, candidates=eligible)
            return exact_search(self._vectors, queries, k, exclude)
        # No vectors given: read the eligible ones back from the graph, block by block.
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for start in range(0, len(eligible), ROW_BLOCK):
            block = eligible[start : start + ROW_BLOCK]
            stored = np.asarray(self._index.get_items(block), dtype=np.float32)
            got_ids, got_sims = exact_search(normalise(stored), queries, k)
            got_ids = np.where(got_ids >= 0, block[np.maximum(got_ids, 0)], -1)
            rows = np.repeat(np.arange(len(queries)), 2 * k)
            r, i, s = merge_top(
                rows,
                np.concatenate([ids, got_ids], axis=1).ravel(),
                np.concatenate([sims, got_sims], axis=1).ravel(),
                k,
            )
            finite = np.isfinite(s)
            r, i, s = r[finite], i[finite], s[finite]
            rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
            ids[:] = -1
            sims[:] = -np.inf
            ids[r, rank], sims[r, rank] = i, s
        return ids, sims

    # ---- queries --------------------------------------------------------------------------

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vectors = normalise(as_matrix(vectors, self.dim))
        k = int(k)
        exclude = np.zeros(self.size, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
        eligible = self.size - int(exclude.sum())
        k_eff = min(k, eligible)
        ids = np.full((len(vectors), k), -1, dtype=np.int64)
        sims = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        if k_eff <= 0 or len(vectors) == 0:
            return ids, sims
        if eligible <= max(EXACT_WHEN_FEWER, MAX_OVERFETCH * k_eff):
            got_ids, got_sims = self._exact(vectors, k_eff, exclude)
            ids[:, :k_eff], sims[:, :k_eff] = got_ids, got_sims
            return ids, sims
        with self._lock:
            short = self._approximate(vectors, exclude, k_eff, ids, sims)
        if len(short):
            ids[short, :k_eff], sims[short, :k_eff] = self._exact(vectors[short], k_eff, exclude)
        self._check(vectors, exclude, k_eff, ids, sims, answered_exactly=set(short.tolist()))
        return ids, sims

    def _approximate(
        self, vectors: np.ndarray, exclude: np.ndarray, k_eff: int, ids: np.ndarray, sims: np.ndarray
    ) -> np.ndarray:
        """Fill rows from the graph, over-fetching for excluded items; the rows left short."""
        todo = np.arange(len(vectors))
        fetch = min(self.size, max(2 * k_eff, k_eff + 16))
        cap = min(self.size, MAX_OVERFETCH * k_eff + 16)
        short: list[np.ndarray] = []
        try:
            while len(todo):
                self._index.set_ef(max(HNSW_EF, fetch))  # hnswlib needs ef >= k to return k results
                try:
                    got, dist = self._index.knn_query(vectors[todo], k=fetch, num_threads=1)
                except RuntimeError:
                    # hnswlib could not find `fetch` items (duplicates make parts of the graph
                    # unreachable): these rows go to exact search.
                    short.append(todo)
                    break
                keep = ~exclude[got]
                counts = keep.sum(axis=1)
                done = counts >= k_eff
                for row in np.flatnonzero(done):
                    row_ids = got[row][keep[row]][:k_eff]
                    ids[todo[row], :k_eff] = row_ids
                    sims[todo[row], :k_eff] = 1.0 - dist[row][keep[row]][:k_eff]
                todo = todo[~done]
                if fetch >= cap:
                    short.append(todo)
                    break
                fetch = min(cap, fetch * 2)
        finally:
            self._index.set_ef(HNSW_EF)
        return np.concatenate(short) if short else np.empty(0, dtype=np.int64)

    def _check(
        self,
        vectors: np.ndarray,
        exclude: np.ndarray,
        k_eff: int,
        ids: np.ndarray,
        sims: np.ndarray,
        answered_exactly: set[int],
    ) -> None:
        """Recall@k of a sample of this query's rows against exact search (the share of the rows'
        answers at least as similar as the true k-th neighbour); answer the whole query exactly
        if one falls below ``min_recall``."""
        if self._vectors is None or self.check_rows <= 0:
            return
        candidates = [r for r in np.argsort(_row_keys(vectors), kind="stable") if int(r) not in answered_exactly]
        rows = np.asarray(candidates[: self.check_rows], dtype=np.int64)
        if len(rows) == 0:
            return
        true_ids, true_sims = self._exact(vectors[rows], k_eff, exclude)
        # Recall by similarity, not by id: among equally similar items (duplicates) any will do.
        bar = true_sims[:, k_eff - 1 : k_eff] - 1e-5
        recalls = ((sims[rows, :k_eff] >= bar).sum(axis=1) / k_eff).tolist()
        self.recalls_.extend(recalls)
        del self.recalls_[:-10_000]
        if min(recalls) < self.min_recall:
            self.fallbacks_ += 1
            warnings.warn(
                f"the HNSW index found only {min(recalls):.0%} of a query's {k_eff} nearest neighbours "
                f"(below {self.min_recall:.0%}): answering this query by exact search",
                stacklevel=3,
            )
            rest = np.setdiff1d(np.arange(len(vectors)), rows)
            if len(rest):
                ids[rest, :k_eff], sims[rest, :k_eff] = self._exact(vectors[rest], k_eff, exclude)
        ids[rows, :k_eff], sims[rows, :k_eff] = true_ids, true_sims


def _index_name(fingerprint: str, meta: dict[str, Any]) -> str:
    settings = f"M{meta['M']}-efc{meta['ef_construction']}-s{meta['seed']}"
    return f"{fingerprint}-{settings}"


def cached_hnsw(
    embeddings: np.ndarray,
    cache_dir: str | os.PathLike[str],
    *,
    fingerprint: str | None = None,
    seed: int = HNSW_SEED,
    num_threads: int = 1,
    progress: bool = False,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
    **kwargs: Any,
) -> HnswIndex:
    """The HNSW index of a pool, from ``cache_dir`` if a matching one is there, else built and
    saved. One file per pool and build settings (M, ef_construction, build seed), so indexes
    built with other settings are kept, not overwritten. The file is checked against the pool's
    fingerprint and settings; a corrupt or mismatched file is rebuilt, never used.
    ``num_threads`` as in :meth:`HnswIndex.build`; ``kwargs`` go to the index (``check_rows``,
    ``min_recall``)."""
    from ..vectors.fingerprint import fingerprint_array

    embeddings = unit_rows(embeddings)
    fingerprint = fingerprint or fingerprint_array(embeddings)
    folder = Path(cache_dir).expanduser() / "indexes"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "fingerprint": fingerprint,
        "size": len(embeddings),
        "dim": embeddings.shape[1],
        "M": HNSW_M,
        "ef_construction": ef_construction,
        "seed": seed,
    }
    name = _index_name(fingerprint, meta)
    path, meta_path = folder / f"{name}.hnsw", folder / f"{name}.json"
    if path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text()) == meta:
                return HnswIndex.load(path, dim=meta["dim"], size=meta["size"], vectors=embeddings, **kwargs)
            warnings.warn(f"{path} was built with other settings; rebuilding it", stacklevel=2)
        except (InputError, ValueError, OSError) as err:
            warnings.warn(f"{path} is unusable ({err}); rebuilding it", stacklevel=2)
    index = HnswIndex.build(
        embeddings, seed=seed, num_threads=num_threads, progress=progress, ef_construction=ef_construction, **kwargs
    )
    index.save(path)
    tmp = meta_path.with_name(meta_path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, meta_path)  # written last: an index without its meta is never trusted
    return index
