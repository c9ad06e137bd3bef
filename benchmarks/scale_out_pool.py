"""The scale-out pool on disk: ``_common``'s synthetic pool written block by block to a float16
memory-mapped file (larger than memory if need be), and exact search over that file by a full
scan, the truth the indexes' recall is measured against.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _common import CHUNK, DIM, synthetic_blocks


def pool_name(n: int) -> str:
    """The pool's name in its file and its Milvus collection: ``10M``, ``1.5M``, ``500k``."""
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n // 1000}k"


def write_pool(path: Path, n: int, seed: int) -> tuple[np.memmap, np.ndarray, float]:
    from anchoral_widget.engine.vectors.shards import open_embeddings, write_embeddings

    labels_path = path.with_suffix(".labels.npy")
    if path.exists() and labels_path.exists():
        try:
            mapped = open_embeddings(path)
            if mapped.shape == (n, DIM):
                return mapped, np.load(labels_path), 0.0
        except Exception as err:  # a half-written file from an earlier run: write it again
            print(f"rewriting {path}: {err}", flush=True)
    labels = np.empty(n, dtype=np.int8)
    t0 = time.perf_counter()

    def blocks():
        start = 0
        for X, y in synthetic_blocks(n, seed):
            labels[start : start + len(y)] = y
            start += len(y)
            if start % 1_000_000 < CHUNK:
                print(f"  written {start:,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
            yield X

    mapped = write_embeddings(path, blocks(), dtype="float16", rows_total=n)
    np.save(labels_path, labels)
    return mapped, labels, time.perf_counter() - t0


def exact_knn(mapped: np.ndarray, queries: np.ndarray, k: int, exclude: np.ndarray, block: int = 131_072):
    """Exact top-k by cosine over the mapped (unit, float16) rows, by a full scan in blocks."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    best_ids = np.full((len(q), 0), -1, dtype=np.int64)
    best_sims = np.full((len(q), 0), -np.inf, dtype=np.float32)
    for start in range(0, len(mapped), block):
        rows = np.asarray(mapped[start : start + block], dtype=np.float32)
        sims = q @ rows.T
        sims[:, exclude[start : start + len(rows)]] = -np.inf
        ids = np.arange(start, start + len(rows))
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cand_ids = np.concatenate([best_ids, ids[top]], axis=1)
        cand_sims = np.concatenate([best_sims, np.take_along_axis(sims, top, axis=1)], axis=1)
        order = np.argsort(-cand_sims, axis=1, kind="stable")[:, :k]
        best_ids, best_sims = np.take_along_axis(cand_ids, order, axis=1), np.take_along_axis(cand_sims, order, axis=1)
    return best_ids, best_sims
