"""Vector indexes over the pool's embeddings: an HNSW index (hnswlib) and an exact one.

Both answer "the k nearest items to these vectors by cosine similarity, leaving out these ids",
so that labelled items never come back from a query. The index itself never changes once
built: exclusion is applied per query, so one index can serve several loops at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InputError
from .pool import check_embeddings as _check_embeddings

HNSW_M = 64
HNSW_EF_CONSTRUCTION = 200
HNSW_EF = 200


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
    return vectors / np.maximum(norms, 1e-12)


class ExactIndex:
    """Brute-force cosine search in numpy: exact, for small pools and for tests."""

    def __init__(self, embeddings: np.ndarray):
        self._vectors = _normalise(_check_embeddings(embeddings))
        self.size, self.dim = self._vectors.shape

    def query(self, vectors, k, exclude=None):
        vectors = _normalise(_as_matrix(vectors, self.dim))
        sims = vectors @ self._vectors.T
        if exclude is not None:
            sims[:, np.asarray(exclude, dtype=bool)] = -np.inf
        k_eff = min(k, self.size)
        top = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
        top_sims = np.take_along_axis(sims, top, axis=1)
        # Sort by similarity, ties by id, so results do not depend on argpartition's order.
        order = np.lexsort((top, -top_sims), axis=1)
        ids = np.take_along_axis(top, order, axis=1)
        out_sims = np.take_along_axis(top_sims, order, axis=1)
        ids = np.where(np.isfinite(out_sims), ids, -1)
        return _pad(ids, out_sims, k)


def _pad(ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if ids.shape[1] < k:
        extra = k - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, extra)), constant_values=-1)
        sims = np.pad(sims, ((0, 0), (0, extra)), constant_values=-np.inf)
    return ids.astype(np.int64), sims.astype(np.float32)


def _stored_dim(path: Path) -> int:
    """The vector size recorded in an hnswlib file's header (hnswlib itself trusts the caller).

    The header starts with six size_t fields; the vector bytes lie between the level-0 links
    (offsetData) and the label (label_offset), 4 bytes per float32 dimension.
    """
    header = path.read_bytes()[:48] if path.stat().st_size >= 48 else b""
    if len(header) < 48:
        raise InputError(f"index file {path} is truncated ({path.stat().st_size} bytes)")
    fields = np.frombuffer(header, dtype="<u8")
    label_offset, offset_data = int(fields[4]), int(fields[5])
    if label_offset <= offset_data or (label_offset - offset_data) % 4:
        raise InputError(f"index file {path} is corrupt (its header makes no sense)")
    return (label_offset - offset_data) // 4


class HnswIndex:
    """Approximate cosine search with hnswlib (M=64, ef_construction=200, ef=200).

    Exclusion is done by over-fetching: ask for more neighbours than needed and drop the
    excluded ones, doubling the request for the rows that came back short.
    """

    def __init__(self, index, size: int, dim: int):
        self._index = index
        self.size = size
        self.dim = dim
        self._lock = threading.Lock()  # set_ef is index-wide state

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        *,
        seed: int = 0,
        num_threads: int = 1,
        progress: bool | Callable[[int, int], None] = False,
    ):
        """Build over all rows of ``embeddings``; row i gets id i.

        ``num_threads=1`` (the default) makes the graph identical from one build to the next;
        more threads build faster but insert in a nondeterministic order. ``progress``: True
        for a progress bar, or a callable told ``(items added, size)`` after each chunk.
        """
        import hnswlib

        embeddings = _check_embeddings(embeddings)
        size, dim = embeddings.shape
        index = hnswlib.Index(space="cosine", dim=dim)
        index.init_index(max_elements=size, ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M, random_seed=seed)
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
        return cls(index, size, dim)

    def save(self, path: str | os.PathLike) -> None:
        """Write the index atomically: a crash never leaves a half-written file behind."""
        path = Path(path)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        self._index.save_index(str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike, dim: int, size: int | None = None):
        """Load a saved index; ``dim`` (and ``size`` if given) must match the pool."""
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
        return cls(index, count, dim)

    def query(self, vectors, k, exclude=None):
        vectors = _as_matrix(vectors, self.dim)
        exclude = np.zeros(self.size, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
        eligible = self.size - int(exclude.sum())
        k_eff = min(k, eligible)
        ids = np.full((len(vectors), k), -1, dtype=np.int64)
        sims = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        if k_eff <= 0:
            return ids, sims
        todo = np.arange(len(vectors))
        fetch = min(self.size, max(2 * k_eff, k_eff + 16))
        with self._lock:
            self._fill(vectors, exclude, k_eff, fetch, todo, ids, sims)
        return ids, sims

    def _fill(self, vectors, exclude, k_eff, fetch, todo, ids, sims):
        while len(todo):
            # hnswlib needs ef >= k to return k results.
            self._index.set_ef(max(HNSW_EF, fetch))
            got, dist = self._index.knn_query(vectors[todo], k=fetch, num_threads=1)
            short = []
            for row, (row_ids, row_dist) in enumerate(zip(got, dist)):
                keep = ~exclude[row_ids]
                kept_ids, kept_dist = row_ids[keep][:k_eff], row_dist[keep][:k_eff]
                if len(kept_ids) < k_eff and fetch < self.size:
                    short.append(todo[row])
                    continue
                ids[todo[row], : len(kept_ids)] = kept_ids
                sims[todo[row], : len(kept_ids)] = 1.0 - kept_dist
            todo = np.asarray(short, dtype=np.int64)
            fetch = min(self.size, fetch * 2)
        self._index.set_ef(HNSW_EF)


def cached_hnsw(
    embeddings: np.ndarray,
    cache_dir,
    *,
    fingerprint: str | None = None,
    seed: int = 0,
    num_threads: int = 1,
    progress: bool = False,
) -> HnswIndex:
    """The HNSW index of a pool, from ``cache_dir`` if a matching one is there, else built and
    saved. The file is checked against the pool's fingerprint and settings; a corrupt or
    mismatched file is rebuilt, never used. ``num_threads`` as in :meth:`HnswIndex.build`."""
    import json
    import warnings

    from .fingerprint import fingerprint_array

    embeddings = _check_embeddings(embeddings)
    fingerprint = fingerprint or fingerprint_array(embeddings)
    folder = Path(cache_dir).expanduser() / "indexes"
    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / f"{fingerprint}.hnsw", folder / f"{fingerprint}.json"
    meta = {
        "fingerprint": fingerprint,
        "size": len(embeddings),
        "dim": embeddings.shape[1],
        "M": HNSW_M,
        "ef_construction": HNSW_EF_CONSTRUCTION,
        "seed": seed,
    }
    if path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text()) == meta:
                return HnswIndex.load(path, dim=meta["dim"], size=meta["size"])
            warnings.warn(f"{path} was built with other settings; rebuilding it", stacklevel=2)
        except (InputError, ValueError, OSError) as err:
            warnings.warn(f"{path} is unusable ({err}); rebuilding it", stacklevel=2)
    index = HnswIndex.build(embeddings, seed=seed, num_threads=num_threads, progress=progress)
    index.save(path)
    tmp = meta_path.with_name(meta_path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, meta_path)  # written last: an index without its meta is never trusted
    return index


def build_index(
    embeddings: np.ndarray, kind: str = "auto", *, seed: int = 0, exact_below: int = 5_000, cache_dir=None, **kwargs
):
    """Build an index: ``"hnsw"``, ``"exact"``, or ``"auto"`` (exact below ``exact_below`` items).
    With ``cache_dir``, an HNSW index is loaded from / saved to that folder."""
    embeddings = _check_embeddings(embeddings)
    if kind == "auto":
        kind = "exact" if len(embeddings) < exact_below else "hnsw"
    if kind == "exact":
        return ExactIndex(embeddings)
    if kind == "hnsw":
        if cache_dir is not None:
            return cached_hnsw(embeddings, cache_dir, seed=seed, **kwargs)
        return HnswIndex.build(embeddings, seed=seed, **kwargs)
    raise InputError(f"unknown index kind {kind!r}; use 'hnsw', 'exact' or 'auto'")
