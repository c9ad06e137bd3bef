"""The identity of a pool: a content hash that caches and stores are checked against."""

from __future__ import annotations

import hashlib

import numpy as np


def fingerprint_array(array: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and bytes)."""
    array = np.ascontiguousarray(array)
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{array.shape}|{array.dtype.str}".encode())
    h.update(memoryview(array).cast("B"))
    return h.hexdigest()
