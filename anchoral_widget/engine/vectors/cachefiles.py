"""Files a cache can trust: written atomically (a reader never sees half a file), arrays kept
with a manifest (rows, dim, CRC-32) and read back only when they match it. The encoder's cache
(:mod:`.embed`) keeps its chunks and its consolidated vectors this way; the memory-mapped pools
(:mod:`.shards`) write their manifests with :func:`write_json`; the encoder builds
(:mod:`.encoders`) read their configs with :func:`read_json`."""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

#: The dtype of every cached vector file (little-endian float32).
VECTOR_DTYPE = np.dtype("<f4")


def crc32_of(arr: np.ndarray) -> int:
    """The CRC-32 of an array's bytes: what a manifest records to catch a damaged file."""
    return zlib.crc32(np.ascontiguousarray(arr).data.cast("B"))


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
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


def write_json(path: Path, obj: dict[str, Any]) -> None:
    """``obj`` as JSON, written atomically."""
    atomic_write(path, lambda fh: fh.write(json.dumps(obj, sort_keys=True).encode()))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if it is missing, unreadable or not an object."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def load_checked(npy: Path, meta: Path, rows: int, dim: int | None, mmap: bool) -> np.ndarray | None:
    """The array in ``npy`` if it matches its manifest ``meta`` and the expected shape, else None."""
    info = read_json(meta)
    if info is None or info.get("rows") != rows or (dim is not None and info.get("dim") != dim):
        return None
    try:
        arr = np.load(npy, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.dtype != VECTOR_DTYPE or arr.shape != (rows, info.get("dim")):
        return None
    if crc32_of(arr) != info.get("crc32"):
        return None
    return arr if mmap else np.array(arr)


def consolidate(chunks: list[tuple[Path, Path, int, int]], final: Path, dim: int) -> int:
    """Checked chunk files ``(npy, manifest, first row, end row)``, in row order, copied into one
    ``.npy`` at ``final``, written atomically; returns the CRC-32 of the whole. An OSError if a
    chunk no longer matches its manifest."""
    n = chunks[-1][3]
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # written through a memory map so that a large pool never sits in memory twice
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=VECTOR_DTYPE, shape=(n, dim))
        crc = 0
        for npy, meta, start, end in chunks:
            chunk = load_checked(npy, meta, end - start, dim, True)
            if chunk is None:
                raise OSError(f"cache chunk {npy} changed while encoding")
            out[start:end] = chunk
            crc = zlib.crc32(np.ascontiguousarray(chunk).data.cast("B"), crc)
        out.flush()
        del out
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return crc
