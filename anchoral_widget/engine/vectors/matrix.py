"""The pool's embeddings as the engine takes them: a checked 2-d float32 array (or a checked
memory map, left on disk)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError

_CHECK_CHUNK = 65_536


def check_embeddings(embeddings: Any) -> np.ndarray:
    """A non-empty 2-d float32 array with no NaN or inf, or an InputError naming the bad rows.
    A memory-mapped array (float16 or float32) is checked and kept as it is, on disk."""
    if isinstance(embeddings, np.memmap):
        from .shards import check_mapped

        return check_mapped(embeddings)
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2 or embeddings.shape[0] == 0:
        raise InputError(f"embeddings must be a non-empty 2-d array, got shape {embeddings.shape}")
    # In chunks: a whole-pool boolean mask would cost as much memory as a quarter of the pool.
    bad = np.concatenate(
        [
            start + np.flatnonzero(~np.isfinite(embeddings[start : start + _CHECK_CHUNK]).all(axis=1))
            for start in range(0, len(embeddings), _CHECK_CHUNK)
        ]
    )
    if len(bad):
        raise InputError(f"embeddings hold NaN or inf in {len(bad)} rows, first at row {bad[0]}")
    return np.ascontiguousarray(embeddings, dtype=np.float32)
