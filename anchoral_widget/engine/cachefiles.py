"""Files a cache can trust: written atomically (a reader never sees half a file), arrays kept
with a manifest (rows, dim, CRC-32) and read back only when they match it. The encoder's cache
(:mod:`.embed`) keeps its chunks and its consolidated vectors this way; the encoder builds
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
