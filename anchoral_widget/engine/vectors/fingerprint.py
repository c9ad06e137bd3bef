"""The identity of a pool: a content hash that caches and stores are checked against."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import numpy as np


def fingerprint_array(array: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and bytes)."""
    array = np.ascontiguousarray(array)
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{array.shape}|{array.dtype.str}".encode())
    h.update(memoryview(cast(Any, array)).cast("B"))  # numpy arrays are buffers; the stubs do not say so
    return h.hexdigest()
