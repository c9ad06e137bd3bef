"""Exact search on a CUDA device, when the machine has one: the pool's rows copied once to the
GPU, each sweep a matrix product there, and the same answer as :func:`.exact.exact_search`.

The products only choose candidates: every item within the products' rounding error of each
row's k-th best is sent back, and the candidates are ranked on the CPU by their similarity pair by
pair (:func:`.exact.pair_similarities`), as the CPU sweep ranks its own. So an answer does not
depend on where it was computed, and neighbour lists fetched on the GPU agree with a fresh search
on the CPU.

torch is imported only where a CUDA device file exists, so that a machine without one pays
nothing for the check.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .exact import SLACK_PER_DIM, merge_top, pair_similarities

#: Rows per matrix product on the device: scratch memory is queries x rows x 4 bytes.
DEVICE_ROW_BLOCK = 1 << 20
#: The share of the device's free memory the pool may take.
MEMORY_SHARE = 0.6
#: TensorFloat-32 products round their inputs to 10 bits: candidates are kept within this of the cut.
TF32_SLACK = 2.0**-8


def _torch() -> Any | None:
    """torch, if a CUDA device is there to use; None otherwise (without importing torch)."""
    if not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0")):
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def device_capacity(dim: int) -> int:
    """How many ``dim``-d float32 rows exact search may keep on the CUDA device (0 without one)."""
    torch = _torch()
    if torch is None:
        return 0
    free, _ = torch.cuda.mem_get_info()
    return int(free * MEMORY_SHARE) // (4 * dim)


class DeviceRows:
    """A pool's unit rows on the CUDA device, searched exactly (see the module's docstring)."""

    def __init__(self, pool: np.ndarray, device: str = "cuda"):
        torch: Any = _torch() if device == "cuda" else None
        if device == "cuda" and torch is None:
            raise RuntimeError("no CUDA device")
        if torch is None:  # the same steps with torch on the CPU: how a machine without a GPU tests them
            import torch
        self._torch, self._pool = torch, pool
        self._device = torch.device(device)
        self._rows = torch.empty(pool.shape, dtype=torch.float32, device=self._device)
        for start in range(0, len(pool), DEVICE_ROW_BLOCK):  # a memory-mapped pool is read a block at a time
            block = np.asarray(pool[start : start + DEVICE_ROW_BLOCK], dtype=np.float32)
            self._rows[start : start + len(block)] = torch.from_numpy(block).to(self._device)

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, sims)`` as :func:`.exact.exact_search` answers them."""
        torch, nq, size = self._torch, len(queries), len(self._pool)
        out_ids = np.full((nq, k), -1, dtype=np.int64)
        out_sims = np.full((nq, k), -np.inf, dtype=np.float32)
        if k <= 0 or nq == 0:
            return out_ids, out_sims
        tf32 = self._device.type == "cuda" and bool(torch.backends.cuda.matmul.allow_tf32)
        slack = TF32_SLACK if tf32 else SLACK_PER_DIM * self._pool.shape[1]
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)).to(self._device)
        excluded = None if exclude is None else torch.from_numpy(np.asarray(exclude, dtype=bool)).to(self._device)
        fetch = min(size, 2 * k + 16)
        while True:
            best_sims = torch.full((nq, 0), -torch.inf, device=self._device)
            best_ids = torch.zeros((nq, 0), dtype=torch.int64, device=self._device)
            for start in range(0, size, DEVICE_ROW_BLOCK):
                sims = q @ self._rows[start : start + DEVICE_ROW_BLOCK].T
                if excluded is not None:
                    sims[:, excluded[start : start + DEVICE_ROW_BLOCK]] = -torch.inf
                top = torch.topk(sims, min(fetch, sims.shape[1]), dim=1)
                best_sims = torch.cat([best_sims, top.values], dim=1)
                best_ids = torch.cat([best_ids, top.indices + start], dim=1)
                if best_sims.shape[1] > fetch:
                    keep = torch.topk(best_sims, fetch, dim=1)
                    best_sims, best_ids = keep.values, torch.gather(best_ids, 1, keep.indices)
            order = torch.sort(best_sims, dim=1, descending=True)
            best_sims = order.values
            best_ids = torch.gather(best_ids, 1, order.indices)
            kth = best_sims[:, min(k, best_sims.shape[1]) - 1]
            # Every item within the slack of the k-th must be among those fetched: the last one
            # fetched must fall below it (or the whole pool was fetched).
            if fetch >= size or bool(((best_sims[:, -1] < kth - slack) | ~torch.isfinite(kth)).all()):
                break
            fetch = min(size, fetch * 2)
        sims_cpu, ids_cpu = best_sims.cpu().numpy(), best_ids.cpu().numpy()
        kth_cpu = kth.cpu().numpy()
        keep = np.isfinite(sims_cpu) & (sims_cpu >= (kth_cpu - slack)[:, None])
        rows, cols = np.nonzero(keep)
        ids = ids_cpu[rows, cols]
        rows, ids, sims = merge_top(rows, ids, pair_similarities(self._pool, queries, rows, ids), k)
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        out_ids[rows, rank] = ids
        out_sims[rows, rank] = sims
        return out_ids, out_sims
