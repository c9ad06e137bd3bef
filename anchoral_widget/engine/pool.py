"""The pool: the items to label, built once and read by everything else.

A :class:`Pool` holds the texts (or none), the embeddings, one fingerprint and the vector index
(built on first use, or found in the cache). The loop owns one; the session, the map and the
replay read it instead of keeping copies of their own.

The index can also be built on another thread (:meth:`Pool.build_index`, as a labelling session
does): until it is done, :attr:`Pool.index` answers by exact search over the embeddings, and the
next reader after it gets the built one. A loop reads the index once per proposal, so it
switches between batches.

A better encoder may finish after the session started (see
:mod:`~anchoral_widget.session.upgrade`): :meth:`Pool.swap` puts its embeddings in place of the
first ones, keeping the pool's identity (its label store stays valid: ids and texts are the
same), and :func:`~.loop.switch.switch_loop` does it for a loop, held set aside from any proposal.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .vectors.matrix import check_embeddings
from .vectors.shards import fingerprint_embeddings

if TYPE_CHECKING:
    from .search.index import VectorIndex


def learner_reads_texts(learner: object) -> bool:
    """Whether a learner is fitted on texts (a fine-tuned transformer) rather than embeddings."""
    return getattr(learner, "inputs", "embeddings") == "texts"


class PoolSwapped(RuntimeError):
    """An index build outlived the embeddings it was built over (see :meth:`Pool.swap`)."""


class Pool:
    """The items to label: texts, embeddings, fingerprint and index, each made once.

    Parameters
    ----------
    embeddings : (n, d) array
        One row per item; ids are row indices. A memory-mapped array (:mod:`.shards`) stays
        on disk and is read by row.
    texts : sequence of str, optional
        The items' texts, aligned with the rows; needed by learners that read text and by the
        cards.
    index : "auto", "hnsw", "exact", "faiss", a "milvus://" URI, or a built index
        How the nearest neighbours of the anchors are found; built on first use (see
        :mod:`.backends` for FAISS and Milvus).
    seed : int
        Seeds an HNSW build.
    cache_dir : path, optional
        Where a built index (and the map) is saved and found again, checked against the pool.
    fingerprint : str, optional
        The pool's identity, if the caller knows it already; see :attr:`fingerprint`.
    """

    def __init__(
        self,
        embeddings: Any,
        texts: Sequence[str] | None = None,
        *,
        index: str | VectorIndex = "auto",
        seed: int = 0,
        cache_dir: str | Path | None = None,
        fingerprint: str | None = None,
    ):
        self.embeddings = check_embeddings(embeddings)
        if texts is not None and len(texts) != len(self.embeddings):
            raise InputError(f"{len(texts)} texts but {len(self.embeddings)} embeddings")
        self.texts = texts
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self._index_spec = index if isinstance(index, str) else "given"
        self._index: VectorIndex | None = None if isinstance(index, str) else index
        self._interim: VectorIndex | None = None  # exact search, answering while build_index() runs elsewhere
        self._building = False
        self._generation = 0  # bumped by swap(): an index built over the embeddings before is dropped
        self._fingerprint = fingerprint
        self._embeddings_fingerprint: str | None = None
        self._lock = threading.RLock()  # one hash and one index build, whoever asks first
        #: Rows with no vector yet, while embeddings arrive in parts (:meth:`swap` with
        #: ``missing=``, then :meth:`fill`); None once every row has one.
        self.missing: np.ndarray | None = None

    @classmethod
    def of(cls, embeddings_or_pool: Any, *, seed: int = 0, **params: Any) -> Pool:
        """A Pool as it is, or a new one over embeddings with ``params`` (those left at None
        or "auto" are not given). A Pool with parameters of its own is a TypeError; ``seed``
        seeds a new pool's index build only."""
        given = {k: v for k, v in params.items() if v is not None and not (k == "index" and v == "auto")}
        if not isinstance(embeddings_or_pool, Pool):
            return cls(embeddings_or_pool, seed=seed, **given)
        if given:
            raise TypeError(f"pass either a Pool or the pool's parameters, not both (got {sorted(given)})")
        return embeddings_or_pool

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def embeddings_fingerprint(self) -> str:
        """A hash of the embeddings alone: what an index or a map of them is checked against."""
        with self._lock:
            if self._embeddings_fingerprint is None:
                self._embeddings_fingerprint = fingerprint_embeddings(self.embeddings)
            return self._embeddings_fingerprint

    @property
    def fingerprint(self) -> str:
        """The pool's identity for its label store: the texts and the vectors they were given
        (so, the encoder); the embeddings' hash alone when there are no texts."""
        if self._fingerprint is None:
            if self.texts is None:
                self._fingerprint = self.embeddings_fingerprint
            else:
                from .vectors.texts import fingerprint_texts

                digest = hashlib.blake2b(digest_size=20)
                digest.update(fingerprint_texts(self.texts).encode())
                digest.update(self.embeddings_fingerprint.encode())
                self._fingerprint = digest.hexdigest()
        return self._fingerprint

    @property
    def identities(self) -> list[str]:
        """Fingerprints a store of this pool may carry: :attr:`fingerprint`, then the embeddings'
        hash that loops given ``texts=`` were keyed by in the first release."""
        return list(dict.fromkeys([self.fingerprint, self.embeddings_fingerprint]))

    @property
    def index(self) -> VectorIndex:
        """The vector index over the embeddings, built (or loaded from the cache) on first use;
        while :meth:`build_index` builds it on another thread, exact search over the embeddings."""
        with self._lock:
            if self._index is None and self.missing is not None:
                # nothing to build over rows that are still arriving: exact search of those in
                self._index = self._make_index("exact")
            if self._index is None:
                if self._building:
                    if self._interim is None:
                        self._interim = self._make_index("exact")
                    return self._interim
                self._index = self._make_index(self._index_spec)
            return self._index

    @property
    def index_kind(self) -> str:
        """The kind of index the pool answers with once built: ``exact``, ``hnsw``, a backend's
        name, or ``given`` (a built index was passed)."""
        from .search.index import index_kind

        return index_kind(self._index_spec, len(self), mapped=isinstance(self.embeddings, np.memmap), dim=self.dim)

    @property
    def index_ready(self) -> bool:
        """Whether the index is built already (asking for :attr:`index` would not wait)."""
        return self._index is not None

    def build_index(self, **params: Any) -> VectorIndex:
        """Build the index on this thread (or load it from the cache), without holding up the
        readers of :attr:`index`, who get exact search until it is done. ``params`` go to
        :func:`~anchoral_widget.engine.search.index.build_index` (``num_threads``, ``progress``).

        Returns the index. If the build fails, the pool keeps exact search (it is exact, only
        slower on a very large pool) and the error is raised for the caller to report.
        """
        with self._lock:
            if self._index is not None or self.missing is not None:
                return self.index
            self._building = True
            generation, embeddings = self._generation, self.embeddings
            params = self._cache_params(self._index_spec, params)
        try:
            built = self._make_index(self._index_spec, embeddings=embeddings, **params)
        except BaseException:
            with self._lock:
                if generation == self._generation:
                    self._building = False
                    if self._index is None:
                        self._index = self._interim or self._make_index("exact")
            raise
        with self._lock:
            if generation != self._generation:  # swapped meanwhile: an index of the old embeddings
                raise PoolSwapped("the embeddings were replaced while their index was built")
            self._building = False
            if self._index is None:
                self._index, self._interim = built, None
            return self._index

    def start_index_build(
        self, on_done: Callable[[VectorIndex | Exception], None] | None = None, **params: Any
    ) -> threading.Thread:
        """:meth:`build_index` on a thread of its own; readers get exact search from now until it
        is done. ``on_done(index or exception)`` is called on that thread at the end."""
        with self._lock:
            self._building = self._index is None

        def build() -> None:
            try:
                result: VectorIndex | Exception = self.build_index(**params)
            except Exception as exc:  # handed to on_done, which reports it
                result = exc
            if on_done is not None:
                on_done(result)

        thread = threading.Thread(target=build, name="anchoral-index", daemon=True)
        thread.start()
        return thread

    def _cache_params(self, spec: str, params: dict[str, Any]) -> dict[str, Any]:
        if spec != "exact" and self.cache_dir is not None:
            return {"cache_dir": self.cache_dir, "fingerprint": self.embeddings_fingerprint, **params}
        return params

    def _make_index(self, spec: str, embeddings: Any = None, **params: Any) -> VectorIndex:
        from .search.index import build_index

        if embeddings is None:  # called under the lock, over the embeddings of now
            embeddings, params = self.embeddings, self._cache_params(spec, params)
            if self.missing is not None:
                from .search.exact import ExactIndex

                return ExactIndex(embeddings, missing=self.missing)
        index: VectorIndex = build_index(embeddings, spec, seed=self.seed, **params)
        return index

    def swap(self, embeddings: Any, *, missing: Any = None) -> None:
        """Serve ``embeddings`` from now on, in place of the pool's: one row per item as before
        (any width). The pool keeps its :attr:`fingerprint` (the label store's key: the same
        texts, the same ids), so hash it first if nobody has; the index and the embeddings' hash
        are made again for the new ones, and an index build still running over the old ones is
        dropped (it raises :class:`PoolSwapped` to its caller). Call it between proposals: a
        loop reads the embeddings and the index several times in one.

        ``missing``: a boolean mask of rows that have no vector yet (their rows in
        ``embeddings`` are placeholders, the others unit vectors). Until :meth:`fill` gives them
        one they are searched by no index and read by no loop (see :attr:`missing`); the index
        is exact search meanwhile. ``embeddings`` is then written in place, so it must be a
        writable float32 array."""
        if missing is not None:
            embeddings, missing = _partial(embeddings, missing)
        embeddings = check_embeddings(embeddings)
        if len(embeddings) != len(self.embeddings):
            raise InputError(f"the new embeddings have {len(embeddings)} rows but the pool has {len(self)} items")
        identity = self.fingerprint  # of the first embeddings, kept
        with self._lock:
            self.missing = missing if missing is not None and missing.any() else None
            self.embeddings = embeddings
            self._fingerprint = identity
            self._embeddings_fingerprint = None
            self._index = self._interim = None
            self._building = False
            self._generation += 1
            if self._index_spec == "given":
                self._index_spec = "auto"  # a given index was built over the old embeddings

    def fill(self, ids: Any, vectors: Any) -> None:
        """Give rows ``ids`` of a pool swapped in with ``missing=`` their (unit) vectors; once
        every row has one, the pool is whole (:attr:`missing` is None) and its index is made
        again as for any pool. A row keeps the vector it first got (a later one for it is
        ignored), so what was searched before stays true and only the new rows need a look.
        Call it between proposals, as :meth:`swap`."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise InputError(
                f"fill() needs one {self.dim}-d vector per id, got shape {vectors.shape} for {len(ids)} ids"
            )
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise InputError(f"fill() ids must be rows of the pool (0..{len(self) - 1})")
        if not np.isfinite(vectors).all():
            raise InputError("fill() vectors hold NaN or inf")
        with self._lock:
            if self.missing is None:
                raise InputError("the pool's embeddings are whole: fill() is for a pool swapped in with missing=")
            from .search.exact import ExactIndex

            arriving = self.missing[ids]
            new, first = np.unique(ids[arriving], return_index=True)
            self.embeddings[new] = vectors[arriving][first]
            self.missing[new] = False
            self._embeddings_fingerprint = None
            index = self._index
            if isinstance(index, ExactIndex):
                index.arrived(new)
            if not self.missing.any():
                self.missing = None
                # exact search over the same rows answers as before: keep it and the lists kept on it
                if not (isinstance(index, ExactIndex) and self.index_kind == "exact" and index.complete()):
                    self._index = self._interim = None
                    self._generation += 1

    def features(self, learner: object) -> Any:
        """What ``learner`` is fitted on: the texts for a learner that reads text, else the
        embeddings."""
        if learner_reads_texts(learner):
            if self.texts is None:
                raise InputError("this learner reads text: the pool needs texts (pass texts=)")
            return self.texts
        return self.embeddings

    def __repr__(self) -> str:
        texts = "no texts" if self.texts is None else "texts"
        return f"Pool({len(self)} x {self.dim}, {texts})"


def _partial(embeddings: Any, missing: Any) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings with placeholder rows, checked: a writable float32 array and a boolean mask
    of the rows still to come (their placeholders are zeroed so that no check trips on them)."""
    if not isinstance(embeddings, np.ndarray) or embeddings.dtype != np.float32 or not embeddings.flags.writeable:
        raise InputError(
            "embeddings that arrive in parts (missing=) must be a writable float32 array: rows are filled in place"
        )
    missing = np.asarray(missing)
    if missing.dtype != bool or missing.shape != (len(embeddings),):
        raise InputError(
            f"missing must be a boolean mask of {len(embeddings)} rows, got {missing.dtype} {missing.shape}"
        )
    missing = missing.copy()
    embeddings[missing] = 0.0
    return embeddings, missing
