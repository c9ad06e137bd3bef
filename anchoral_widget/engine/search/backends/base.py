"""What every index backend shares: its errors and the shape of an answer."""

from __future__ import annotations

import numpy as np

from ....errors import AnchorALError, InputError


class IndexUnavailableError(AnchorALError):
    """The index's server did not answer (down, unreachable, timed out). Nothing was changed:
    the labels are kept, and the same call works again once the server is back."""


def as_unit_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Query vectors as a C-contiguous float32 ``(n, dim)`` matrix of unit rows."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InputError(f"query vectors have shape {vectors.shape}, the index holds {dim}-d vectors")
    if not np.isfinite(vectors).all():
        raise InputError("query vectors hold NaN or inf")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))


def exclusion(exclude: np.ndarray | None, size: int) -> np.ndarray:
    """The excluded ids (sorted) of a boolean mask over the pool."""
    if exclude is None:
        return np.empty(0, dtype=np.int64)
    exclude = np.asarray(exclude, dtype=bool)
    if exclude.shape != (size,):
        raise InputError(f"the exclusion mask has shape {exclude.shape}, the index holds {size} items")
    return np.flatnonzero(exclude).astype(np.int64)


def empty_answer(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, sims)`` of ``n`` rows with nothing found: -1 and -inf."""
    return np.full((n, k), -1, dtype=np.int64), np.full((n, k), -np.inf, dtype=np.float32)


def best_first(ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by similarity (ties to the lower id), keep ``k``, pad with -1 / -inf.

    Missing entries come in as id -1 (any similarity) and go last."""
    ids = np.asarray(ids, dtype=np.int64)
    sims = np.where(ids >= 0, np.asarray(sims, dtype=np.float32), -np.inf).astype(np.float32)
    order = np.lexsort((np.where(ids >= 0, ids, np.iinfo(np.int64).max), -sims), axis=1)[:, :k]
    ids, sims = np.take_along_axis(ids, order, axis=1), np.take_along_axis(sims, order, axis=1)
    ids = np.where(np.isfinite(sims), ids, -1)
    if ids.shape[1] < k:
        out_ids, out_sims = empty_answer(len(ids), k)
        out_ids[:, : ids.shape[1]], out_sims[:, : ids.shape[1]] = ids, sims
        return out_ids, out_sims
    return ids, sims


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per row, the share of the true neighbours (ids >= 0 in ``truth``) that ``found`` holds."""
    out = np.ones(len(truth))
    for row, (got, want) in enumerate(zip(found, truth)):
        want = want[want >= 0]
        if len(want):
            out[row] = len(np.intersect1d(got, want)) / len(want)
    return out
