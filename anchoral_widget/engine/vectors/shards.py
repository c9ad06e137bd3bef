"""Embeddings on disk: a memory-mapped ``.npy`` (float16 or float32) that the loop reads by row.

A pool of 10M x 384 float32 vectors is 15 GiB; as float16 on disk it is 7.7 GB, and the loop
needs only a few thousand rows of it per iteration (the anchors, the subpool, the labelled set
for the learner), so it never has to sit in memory. This module writes such a file, opens it
read-only as an :class:`numpy.memmap`, and keeps a manifest beside it so that opening it again
costs nothing: the fingerprint and the finiteness check are computed once, when it is written,
and trusted while the file's size and modification time are unchanged.

Layout of a folder written by :class:`ShardedWriter` (one file, written shard by shard)::

    embeddings.npy     the (n, d) array, rows in pool order
    embeddings.json    its manifest, written last: shape, dtype, fingerprint, file size and time
    shards.json        while unfinished: which shards (row ranges) are written, with a checksum

A shard is a block of ``shard_size`` rows: the unit of work a writer (one process, or a
distributed encoder's driver) completes, flushes and records, and so the most an interruption
can lose. Rows may arrive in any order within and across shards.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import numpy as np

from ...errors import InputError
from .cachefiles import read_json, write_json

__all__ = [
    "DTYPES",
    "ShardedWriter",
    "check_mapped",
    "fingerprint_embeddings",
    "open_embeddings",
    "rows",
    "write_embeddings",
]

DTYPES = (np.dtype("<f2"), np.dtype("<f4"))
_CHUNK = 65_536  # rows per pass when a whole file is scanned (hash, finiteness, copy)
_MANIFEST_FORMAT = 1


# ---- small helpers -----------------------------------------------------------------------


def _manifest_path(npy: Path) -> Path:
    return npy.with_suffix(".json")


def _file_stamp(npy: Path) -> dict[str, int]:
    st = npy.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    dt: np.dtype[Any] = np.dtype(dtype).newbyteorder("<")
    if dt not in DTYPES:
        raise InputError(f"embeddings on disk are float16 or float32, not {np.dtype(dtype)}")
    return dt


def _scan(array: np.ndarray) -> tuple[str, np.ndarray]:
    """One pass over ``array`` in chunks: its fingerprint (identical to
    :func:`~.fingerprint.fingerprint_array` of the same array) and the rows holding NaN or inf."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{array.shape}|{array.dtype.str}".encode())
    bad = []
    for start in range(0, len(array), _CHUNK):
        block = np.ascontiguousarray(array[start : start + _CHUNK])
        h.update(memoryview(cast(Any, block)).cast("B"))
        bad.append(start + np.flatnonzero(~np.isfinite(block).all(axis=1)))
    return h.hexdigest(), np.concatenate(bad) if bad else np.empty(0, dtype=np.int64)


def _unit_rows(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf rows are reported by the caller
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        out: np.ndarray = block / np.maximum(norms, np.finfo(np.float32).tiny)
    return out


# ---- reading -------------------------------------------------------------------------------


def _trusted_manifest(array: np.ndarray) -> dict[str, Any] | None:
    """The manifest of a memory-mapped file, if it describes the file as it is now."""
    filename = getattr(array, "filename", None)
    if filename is None:
        return None
    npy = Path(filename)
    info = read_json(_manifest_path(npy))
    if info is None or info.get("format") != _MANIFEST_FORMAT:
        return None
    try:
        stamp = _file_stamp(npy)
    except OSError:
        return None
    if (
        info.get("stamp") != stamp
        or tuple(info.get("shape", ())) != array.shape
        or info.get("dtype") != array.dtype.str
        # a view of part of the file is not the file the manifest describes
        or getattr(array, "offset", None) != info.get("offset")
    ):
        return None
    return info


def open_embeddings(path: str | os.PathLike[str]) -> np.memmap:
    """A read-only memory map of the embeddings in ``path`` (a ``.npy`` file, or a folder written
    by :class:`ShardedWriter`). Only the header is read now; rows are read when used.

    Raises :class:`InputError` for a missing, unfinished or non-float file.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        if (path / "shards.json").exists() and not (path / "embeddings.json").exists():
            raise InputError(f"the embeddings in {path} are not finished: resume the encoding that writes them")
        path = path / "embeddings.npy"
    if not path.exists():
        raise InputError(f"no embeddings at {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InputError(f"{path} is not a readable .npy file: {err}") from err
    if not isinstance(array, np.memmap) or array.ndim != 2:
        raise InputError(f"{path} holds an array of shape {np.shape(array)}, not (items, dimensions)")
    _check_dtype(array.dtype)
    return array


def check_mapped(array: np.ndarray) -> np.ndarray:
    """A memory-mapped pool as it is (never copied into memory), checked: 2-d, non-empty, float16
    or float32, no NaN or inf. The check reads the whole file once, unless its manifest says it
    was done when the file was written."""
    if array.ndim != 2 or array.shape[0] == 0:
        raise InputError(f"embeddings must be a non-empty 2-d array, got shape {array.shape}")
    _check_dtype(array.dtype)
    info = _trusted_manifest(array)
    if info is not None and info.get("finite") is True:
        return array
    _, bad = _scan(array)
    if len(bad):
        raise InputError(f"embeddings hold NaN or inf in {len(bad)} rows, first at row {bad[0]}")
    return array


def fingerprint_embeddings(array: np.ndarray) -> str:
    """The content hash of ``array`` (as :func:`~.fingerprint.fingerprint_array`): from the manifest
    of a memory-mapped file written here, else by reading it once in chunks."""
    info = _trusted_manifest(array)
    if info is not None and isinstance(info.get("fingerprint"), str):
        return str(info["fingerprint"])
    if not isinstance(array, np.memmap):
        from .fingerprint import fingerprint_array

        return fingerprint_array(array)
    return _scan(array)[0]


def rows(embeddings: np.ndarray, ids: Any) -> np.ndarray:
    """Rows ``ids`` of a pool's embeddings as float32, in the order given. A memory-mapped pool is
    read in ascending row order (the disk's order) and only at those rows."""
    ids = np.asarray(ids, dtype=np.int64)
    if not isinstance(embeddings, np.memmap) or len(ids) < 2:
        return np.asarray(embeddings[ids], dtype=np.float32)
    order = np.argsort(ids, kind="stable")
    out = np.empty((len(ids), embeddings.shape[1]), dtype=np.float32)
    out[order] = embeddings[ids[order]]
    return out


# ---- writing -------------------------------------------------------------------------------


def _finish(npy: Path, array: np.ndarray, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check what was written and record it in the manifest (written last)."""
    fingerprint, bad = _scan(array)
    if len(bad):
        raise InputError(f"embeddings hold NaN or inf in {len(bad)} rows, first at row {bad[0]}")
    info: dict[str, Any] = {
        "format": _MANIFEST_FORMAT,
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "offset": getattr(array, "offset", None),
        "fingerprint": fingerprint,
        "finite": True,
        **(extra or {}),
    }
    info["stamp"] = _file_stamp(npy)
    write_json(_manifest_path(npy), info)
    return info


def write_embeddings(
    path: str | os.PathLike[str],
    vectors: np.ndarray | Iterable[np.ndarray],
    *,
    dtype: Any = "float16",
    rows_total: int | None = None,
    normalise: bool = True,
) -> np.memmap:
    """Write embeddings to the ``.npy`` file ``path`` (with its manifest) and open it mapped.

    ``vectors`` is an array (in memory or mapped) or an iterable of row blocks, in pool order; for
    an iterable give ``rows_total``. Rows are l2-normalised in float32 first (``normalise``), then
    stored as ``dtype`` (float16 halves the file; cosine similarities move by about 1e-3).
    """
    dt = _check_dtype(dtype)
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(vectors, np.ndarray):
        if vectors.ndim != 2 or len(vectors) == 0:
            raise InputError(f"embeddings must be a non-empty 2-d array, got shape {vectors.shape}")
        blocks: Iterable[np.ndarray] = (vectors[s : s + _CHUNK] for s in range(0, len(vectors), _CHUNK))
        n, dim = vectors.shape
    else:
        if rows_total is None:
            raise InputError("rows_total is needed when the vectors come as blocks")
        blocks, n, dim = iter(vectors), int(rows_total), -1
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    out: np.memmap | None = None
    written = 0
    try:
        for block in blocks:
            block = np.asarray(block)
            if out is None:
                dim = block.shape[1] if dim < 0 else dim
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dt, shape=(n, dim))
            if block.ndim != 2 or block.shape[1] != dim or written + len(block) > n:
                raise InputError(f"a block of shape {block.shape} does not fit a ({n}, {dim}) pool at row {written}")
            out[written : written + len(block)] = _unit_rows(block) if normalise else block
            written += len(block)
        if out is None or written != n:
            raise InputError(f"{written} rows were given, {n} expected")
        out.flush()
        del out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _finish(path, np.load(path, mmap_mode="r"))
    return open_embeddings(path)


class ShardedWriter:
    """Writes a pool's embeddings into ``folder/embeddings.npy`` shard by shard, resumably.

    Parameters
    ----------
    folder : path
        Created if missing. A folder holding an unfinished pool of the same ``source`` and layout
        is resumed: its recorded shards are checked against their checksums and kept.
    rows, dim : int
        The pool's size.
    dtype : "float16" or "float32"
    shard_size : int
        Rows per shard.
    source : str
        What the rows are computed from (texts and encoder); a folder holding another source's
        rows is an :class:`InputError`, never mixed in.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        rows: int,
        dim: int,
        *,
        dtype: Any = "float16",
        shard_size: int = 65_536,
        source: str = "",
    ):
        if rows < 1 or dim < 1 or shard_size < 1:
            raise InputError(f"rows, dim and shard_size must be positive, got {rows}, {dim}, {shard_size}")
        self.folder = Path(folder).expanduser()
        self.rows, self.dim, self.shard_size = int(rows), int(dim), int(shard_size)
        self.dtype = _check_dtype(dtype)
        self.source = source
        self.npy = self.folder / "embeddings.npy"
        self._state_path = self.folder / "shards.json"
        self.folder.mkdir(parents=True, exist_ok=True)
        layout = {
            "rows": self.rows,
            "dim": self.dim,
            "dtype": self.dtype.str,
            "shard_size": self.shard_size,
            "source": source,
        }
        self._layout = layout
        self._seen = np.zeros(0, dtype=bool)
        finished = read_json(self.folder / "embeddings.json")
        if finished is not None and finished.get("layout") == layout and self.npy.exists():
            self.done: dict[int, int] = {i: 0 for i in range(self.n_shards)}
            self._array: np.memmap | None = None
            self.finished = True
            return
        state = read_json(self._state_path)
        if state is not None and state.get("layout", {}).get("source") not in ("", source) and source:
            raise InputError(
                f"{self.folder} holds embeddings of another pool or encoder "
                f"({state['layout']['source']!r}, not {source!r}): use another folder"
            )
        self.finished = False
        if state is not None and state.get("layout") == layout and self.npy.exists():
            self._array = np.load(self.npy, mmap_mode="r+")
            self.done = {int(k): int(v) for k, v in state.get("done", {}).items()}
            self.done = {i: crc for i, crc in self.done.items() if self._crc(i) == crc}
        else:
            (self.folder / "embeddings.json").unlink(missing_ok=True)
            self._array = np.lib.format.open_memmap(self.npy, mode="w+", dtype=self.dtype, shape=(self.rows, self.dim))
            self.done = {}
        # which rows of the unfinished shards have arrived: a row written twice (a retried task)
        # counts once, and a shard is complete only when every one of its rows is there
        self._seen = np.zeros(self.rows, dtype=bool)
        self._save_state()

    @property
    def n_shards(self) -> int:
        return -(-self.rows // self.shard_size)

    def span(self, shard: int) -> tuple[int, int]:
        """The rows ``[start, stop)`` of ``shard``."""
        start = shard * self.shard_size
        return start, min(start + self.shard_size, self.rows)

    def pending(self) -> list[int]:
        """The shards not written yet, in order."""
        return [i for i in range(self.n_shards) if i not in self.done]

    @property
    def rows_done(self) -> int:
        return sum(self.span(i)[1] - self.span(i)[0] for i in self.done)

    def _crc(self, shard: int) -> int:
        start, stop = self.span(shard)
        assert self._array is not None
        return zlib.crc32(memoryview(cast(Any, np.ascontiguousarray(self._array[start:stop]))).cast("B"))

    def _save_state(self) -> None:
        state = {"layout": self._layout, "done": {str(i): crc for i, crc in sorted(self.done.items())}}
        write_json(self._state_path, state)

    def write(self, ids: np.ndarray, vectors: np.ndarray) -> list[int]:
        """Store ``vectors`` at rows ``ids`` (l2-normalised, in the file's dtype). Returns the
        shards this completed; each is flushed to disk and recorded before this returns."""
        if self.finished or self._array is None:
            raise InputError(f"the embeddings in {self.folder} are finished already")
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors)
        if vectors.shape != (len(ids), self.dim):
            raise InputError(f"{len(ids)} ids but vectors of shape {vectors.shape} (expected dim {self.dim})")
        if len(ids) and (ids.min() < 0 or ids.max() >= self.rows):
            raise InputError(f"row ids out of range [0, {self.rows})")
        unit = _unit_rows(vectors)
        if not np.isfinite(unit).all():
            raise InputError("the encoder returned NaN or inf")
        self._array[ids] = unit
        self._seen[ids] = True
        completed = []
        for shard in np.unique(ids // self.shard_size).tolist():
            start, stop = self.span(shard)
            if shard not in self.done and self._seen[start:stop].all():
                completed.append(shard)
        if completed:
            self._array.flush()
            for shard in completed:
                self.done[shard] = self._crc(shard)
            self._save_state()
        return completed

    def finish(self) -> np.memmap:
        """Check and record the finished pool (fingerprint in the manifest), drop the shard state,
        and return it mapped read-only. Raises :class:`InputError` while shards are missing."""
        if not self.finished:
            missing = self.pending()
            if missing:
                raise InputError(f"{len(missing)} shards of {self.folder} are not written yet (first: {missing[0]})")
            assert self._array is not None
            self._array.flush()
            self._array = None
            _finish(self.npy, np.load(self.npy, mmap_mode="r"), {"layout": self._layout})
            self._state_path.unlink(missing_ok=True)
            self.finished = True
        return open_embeddings(self.npy)
