"""FAISS indexes (``faiss-cpu``): for pools whose float32 vectors do not fit in memory.

The default, ``ivfpq``, is an inverted file (``nlist`` k-means cells, ``nprobe`` of them read per
query) whose vectors are stored as product-quantised codes: 48 bytes per item at 384-d instead of
1,536, so 10M items take about 0.6 GB. The codes are 4-bit ones, read by FAISS's fast-scan
kernels (``IndexIVFPQFastScan``: the lookup tables sit in SIMD registers), which scan a cell 5-20
times faster than 8-bit codes of the same size here; ``nbits=8`` builds the classic
``IndexIVFPQ``. ``hnsw`` is a FAISS HNSW graph over
float32 vectors and ``flat`` is exact search; both keep every vector in memory.

Labelled and skipped items are excluded *inside* the search by an ID selector (FAISS's
``IDSelectorNot(IDSelectorBatch(excluded))``): the index only ever scores eligible items, so
no over-fetching, and however many items are excluded a query asks for exactly what it needs.

Product quantisation ranks approximately. With the pool's embeddings at hand (in memory or
memory-mapped), a query asks for ``refine`` times ``k`` candidates and re-ranks them by their exact
cosine similarity, read from the embeddings at those rows only: the similarities the loop sees
are exact, and recall is limited by the cells probed, not by the codes.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ....errors import InputError
from ...vectors.shards import rows as read_rows
from .base import as_unit_matrix, best_first, empty_answer, exclusion

FAISS_TYPES = ("ivfpq", "hnsw", "flat")
#: HNSW settings, as the in-process index (``engine.index``) uses for the paper's graph.
HNSW_M = 64
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
#: Candidates fetched per neighbour wanted, re-ranked exactly when the embeddings are at hand
#: (measured on 200k clustered 384-d vectors, PQ48: recall@50 0.998 at 4, 1.0 at 8).
REFINE = 8
#: At least this many candidates are fetched for re-ranking, however few neighbours are asked for.
MIN_CANDIDATES = 256
#: k-means points per IVF cell used to train (FAISS warns below 39), and training iterations.
TRAIN_PER_CELL = 64
KMEANS_ITERATIONS = 10
#: Points per PQ centroid used to train the codes (16,384 at 8 bits).
PQ_POINTS_PER_CENTROID = 64
_ADD_CHUNK = 65_536
#: Bits per code of the fast-scan kernels (the only width they read).
FAST_SCAN_BITS = 4


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - faiss-cpu is in the "scale" extra
        raise InputError("index='faiss' needs faiss-cpu: pip install 'anchoral-widget[scale]'") from err
    return faiss


def default_nlist(n: int) -> int:
    """IVF cells for ``n`` items: the power of two at or below sqrt(n) / 2 (1,024 at 10M), with
    enough points per cell to train. Fewer cells than the textbook sqrt(n) make the build
    cheaper (assigning an item costs one dot product per cell) and scanning a cell is cheap
    with codes of a few dozen bytes."""
    cells = 2 ** math.floor(math.log2(max(math.sqrt(n) / 2, 1)))
    return int(max(1, min(cells, n // 39)))


def default_m(dim: int, nbits: int = FAST_SCAN_BITS) -> int:
    """PQ sub-quantisers: ``dim / nbits`` of them, so a vector's codes take ``dim / 8`` bytes (48
    at 384-d) whatever the bits per code; a divisor of ``dim`` (and even, for fast-scan)."""
    for m in range(max(1, dim // nbits), 0, -1):
        if dim % m == 0 and (nbits != FAST_SCAN_BITS or m % 2 == 0):
            return m
    return 1


def default_nbits(n: int) -> int:
    """Bits per PQ code: 4, for the fast-scan kernels. Recall is set by the cells read, not by
    the codes, once candidates are re-ranked exactly (``benchmarks/scale_out.py``)."""
    return FAST_SCAN_BITS


def codes_kind(nbits: int) -> str:
    """How an ``ivfpq`` index stores its codes: ``fs4`` (fast-scan) or ``pq<bits>``."""
    return "fs4" if nbits == FAST_SCAN_BITS else f"pq{nbits}"


def default_nprobe(nlist: int) -> int:
    """Cells read per query: 1/32 of them, at least 16 (all of them for a small index). Recall is
    limited by the cells read, not by the codes (candidates are re-ranked exactly). At 10M items
    (1,024 cells, fast-scan codes) reading 32 gave recall@50 0.99 and a 0.09 s subpool on 2 cores;
    see ``benchmarks/scale_out.py``."""
    return int(min(nlist, max(16, nlist // 32)))


def _blocks(
    embeddings: np.ndarray, start: int = 0, stop: int | None = None, chunk: int = _ADD_CHUNK
) -> Iterator[tuple[int, np.ndarray]]:
    stop = len(embeddings) if stop is None else stop
    for s in range(start, stop, chunk):
        block = np.asarray(embeddings[s : min(s + chunk, stop)], dtype=np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        yield s, np.ascontiguousarray(block / np.maximum(norms, 1e-12))


def _train_sample(embeddings: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` rows drawn without replacement (seeded), read in ascending order."""
    n = len(embeddings)
    if size >= n:
        ids = np.arange(n)
    else:
        ids = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    sample = read_rows(embeddings, ids)
    return np.ascontiguousarray(sample / np.maximum(np.linalg.norm(sample, axis=1, keepdims=True), 1e-12))


class FaissIndex:
    """Cosine search over a FAISS index; exclusion by an ID selector.

    Build with :meth:`build`, or :func:`cached_faiss` to keep it on disk beside the pool. ``vectors``
    (the pool's embeddings, possibly memory-mapped) turn on exact re-ranking of ``refine * k``
    candidates; without them the similarities are FAISS's own (approximate for ``ivfpq``).
    """

    def __init__(
        self,
        index: Any,
        variant: str,
        *,
        vectors: np.ndarray | None = None,
        nprobe: int | None = None,
        ef_search: int = HNSW_EF_SEARCH,
        refine: int = REFINE,
        params: dict[str, Any] | None = None,
    ):
        if variant not in FAISS_TYPES:
            raise InputError(f"unknown FAISS index type {variant!r}; choose from {', '.join(FAISS_TYPES)}")
        self._index = index
        self.variant = variant
        self.size = int(index.ntotal)
        self.dim = int(index.d)
        if vectors is not None and tuple(vectors.shape) != (self.size, self.dim):
            raise InputError(f"embeddings of shape {vectors.shape} given for an index of {self.size} x {self.dim}")
        self._vectors = vectors
        self.nlist = int(getattr(index, "nlist", 0)) or None
        self.nprobe = int(nprobe or (default_nprobe(self.nlist) if self.nlist else 1))
        self.ef_search = int(ef_search)
        # only product-quantised codes rank approximately; HNSW and flat hold the vectors
        self.refine = max(1, int(refine)) if vectors is not None and variant == "ivfpq" else 1
        self.params = dict(params or {})
        self._lock = threading.Lock()

    # ---- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        variant: str = "ivfpq",
        *,
        nlist: int | None = None,
        m: int | None = None,
        nbits: int | None = None,
        nprobe: int | None = None,
        ef_search: int = HNSW_EF_SEARCH,
        refine: int = REFINE,
        train_size: int | None = None,
        seed: int = 0,
        progress: bool = False,
        keep_vectors: bool = True,
    ) -> FaissIndex:
        """Build over every row of ``embeddings`` (row i gets id i), reading it in blocks, so a
        memory-mapped pool is never loaded whole. ``ivfpq`` trains its cells and codes on a
        seeded sample of ``train_size`` rows (default 64 per cell)."""
        faiss = _faiss()
        n, dim = embeddings.shape
        if variant not in FAISS_TYPES:
            raise InputError(f"unknown FAISS index type {variant!r}; choose from {', '.join(FAISS_TYPES)}")
        params: dict[str, Any] = {"variant": variant, "seed": int(seed)}
        if variant == "flat":
            index = faiss.IndexFlatIP(dim)
        elif variant == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            params.update(M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
        else:
            nlist = int(nlist or default_nlist(n))
            nbits = int(nbits or default_nbits(n))
            m = int(m or default_m(dim, nbits))
            if dim % m:
                raise InputError(f"m={m} sub-quantisers must divide the dimension {dim}")
            if nlist > n:
                raise InputError(f"nlist={nlist} cells for a pool of {n} items: use fewer cells")
            if not 1 <= nbits <= 16:
                raise InputError(f"nbits={nbits}: a PQ code has 1 to 16 bits (4 for fast-scan, 8 classic)")
            quantizer = faiss.IndexFlatIP(dim)
            if nbits == FAST_SCAN_BITS:
                index = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = int(seed)
            index.cp.niter = KMEANS_ITERATIONS
            index.cp.spherical = True  # unit centroids: cells by cosine, as the queries are
            index.pq.cp.seed = int(seed)
            index.pq.cp.niter = KMEANS_ITERATIONS
            index.pq.cp.max_points_per_centroid = PQ_POINTS_PER_CENTROID
            train_size = int(train_size or max(nlist * TRAIN_PER_CELL, (1 << nbits) * PQ_POINTS_PER_CENTROID))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                index.train(_train_sample(embeddings, train_size, seed))
            params.update(nlist=nlist, m=m, nbits=nbits, codes=codes_kind(nbits), train_size=min(train_size, n))
        starts = _blocks(embeddings)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, total=-(-n // _ADD_CHUNK), desc="indexing", unit="block")
        for _start, block in starts:
            index.add(block)  # ids follow on: row i gets id i
        return cls(
            index,
            variant,
            vectors=embeddings if keep_vectors else None,
            nprobe=nprobe,
            ef_search=ef_search,
            refine=refine,
            params=params,
        )

    # ---- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index atomically: a crash never leaves a half-written file."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            _faiss().write_index(self._index, str(tmp))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        variant: str,
        *,
        dim: int,
        size: int,
        vectors: np.ndarray | None = None,
        **kwargs: Any,
    ) -> FaissIndex:
        """Read a saved index; its dimension and size must be the pool's."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no index at {path}")
        try:
            index = _faiss().read_index(str(path))
        except RuntimeError as err:
            raise InputError(f"index file {path} is corrupt: {str(err).splitlines()[0]}") from err
        if index.d != dim:
            raise InputError(f"index file {path} holds {index.d}-d vectors, the pool has {dim}-d")
        if index.ntotal != size:
            raise InputError(f"index file {path} holds {index.ntotal} items, the pool has {size}")
        return cls(index, variant, vectors=vectors, **kwargs)

    @property
    def nbytes(self) -> int:
        """The index's size in bytes, as it is written to disk (about its size in memory)."""
        return int(_faiss().serialize_index(self._index).nbytes)

    # ---- queries ----------------------------------------------------------------------------

    def _search_params(self, excluded: np.ndarray) -> tuple[Any, list[Any]]:
        faiss = _faiss()
        keep: list[Any] = []  # the selectors must outlive the search (FAISS holds raw pointers)
        selector = None
        if len(excluded):
            batch = faiss.IDSelectorBatch(excluded)
            selector = faiss.IDSelectorNot(batch)
            keep += [batch, selector]
        if self.variant == "ivfpq":
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        elif self.variant == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=self.ef_search)
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        return params, keep

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, similarities)`` of the ``k`` nearest eligible items, best first, padded with
        -1 / -inf; excluded items are never scored, so never returned."""
        queries = as_unit_matrix(vectors, self.dim)
        k = int(k)
        excluded = exclusion(exclude, self.size)
        if k <= 0 or len(queries) == 0:
            return empty_answer(len(queries), max(k, 0))
        eligible = self.size - len(excluded)
        fetch = min(eligible, max(k * self.refine, MIN_CANDIDATES) if self.refine > 1 else k)
        if fetch <= 0:
            return empty_answer(len(queries), k)
        params, keep = self._search_params(excluded)
        if self.variant == "hnsw":
            params.efSearch = max(self.ef_search, fetch)
        with self._lock:
            sims, ids = self._index.search(queries, fetch, params=params)
        del keep
        if self.refine > 1 and self._vectors is not None:
            sims = self._exact_sims(queries, ids)
        return best_first(ids, sims, k)

    def _exact_sims(self, queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine similarity of each query to each of its candidates, read from the pool's
        embeddings at those rows only."""
        found = np.unique(ids[ids >= 0])
        if len(found) == 0:
            return np.full(ids.shape, -np.inf, dtype=np.float32)
        assert self._vectors is not None
        block = read_rows(self._vectors, found)
        block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        position = np.searchsorted(found, np.maximum(ids, 0))
        sims = np.einsum("qd,qkd->qk", queries, block[position])
        return np.where(ids >= 0, sims, -np.inf).astype(np.float32)

    def __repr__(self) -> str:
        extra = f", nlist={self.nlist}, nprobe={self.nprobe}" if self.nlist else ""
        return f"FaissIndex({self.variant!r}, {self.size} x {self.dim}{extra}, refine={self.refine})"


def cached_faiss(
    embeddings: np.ndarray,
    cache_dir: str | os.PathLike[str],
    variant: str = "ivfpq",
    *,
    fingerprint: str,
    progress: bool = False,
    **options: Any,
) -> FaissIndex:
    """The FAISS index of a pool, from ``cache_dir/indexes/`` if one built from the same
    embeddings (by ``fingerprint``) with the same settings is there, else built and saved. A
    corrupt or mismatched file is rebuilt, never used."""
    build_keys = ("nlist", "m", "nbits", "train_size", "seed")
    query_keys = ("nprobe", "ef_search", "refine")
    unknown = set(options) - set(build_keys) - set(query_keys)
    if unknown:
        raise InputError(f"unknown FAISS options {sorted(unknown)}")
    n, dim = embeddings.shape
    build_opts = {key: options[key] for key in build_keys if options.get(key) is not None}
    query_opts = {key: options[key] for key in query_keys if options.get(key) is not None}
    folder = Path(cache_dir).expanduser() / "indexes"
    folder.mkdir(parents=True, exist_ok=True)
    # the kind of codes is part of the name: an index cached with other codes (8-bit ones, the
    # default before fast-scan) is never taken for this one
    codes = {"codes": codes_kind(int(build_opts.get("nbits") or default_nbits(n)))} if variant == "ivfpq" else {}
    tag = "-".join([variant, *codes.values()] + [f"{k}{v}" for k, v in sorted(build_opts.items())])
    path, meta_path = folder / f"{fingerprint}.{tag}.faiss", folder / f"{fingerprint}.{tag}.json"
    meta = {"fingerprint": fingerprint, "size": n, "dim": dim, "variant": variant, **codes, **build_opts}
    if path.exists() and meta_path.exists():
        try:
            stored = json.loads(meta_path.read_text())
            if {key: stored.get(key) for key in meta} == meta:
                index = FaissIndex.load(path, variant, dim=dim, size=n, vectors=embeddings, **query_opts)
                index.params = stored.get("params", {})
                return index
            warnings.warn(f"{path} was built with other settings; rebuilding it", stacklevel=2)
        except (InputError, ValueError, OSError) as err:
            warnings.warn(f"{path} is unusable ({err}); rebuilding it", stacklevel=2)
    index = FaissIndex.build(embeddings, variant, progress=progress, **build_opts, **query_opts)
    index.save(path)
    tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**meta, "params": index.params}))
    os.replace(tmp, meta_path)  # written last: an index without its meta is never trusted
    return index
