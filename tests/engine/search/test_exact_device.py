"""Where the pool's rows are searched: ``device="cpu"`` never asks for a GPU, and a bad device
is refused by name."""

import numpy as np
import pytest

from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.errors import InputError


def test_cpu_keeps_the_rows_on_the_cpu():
    X = np.eye(4, dtype=np.float32)
    assert ExactIndex(X, device="cpu").on_device is None


def test_an_unknown_device_is_refused_by_name():
    with pytest.raises(InputError, match="device must be 'auto' or 'cpu'"):
        ExactIndex(np.eye(4, dtype=np.float32), device="tpu")


@pytest.mark.parametrize("seed", range(8))
def test_the_device_sweep_answers_as_the_cpu_sweep(seed, monkeypatch):
    # The device's steps (blocked products, top-k merged block by block, fetched deeper until
    # everything within the slack of the cut is in, then ranked pair by pair) run here with torch
    # on the CPU; on a CUDA machine test_gpu_exact.py runs them on the device.
    from anchoral_widget.engine.search import gpu
    from anchoral_widget.engine.search.exact import exact_search

    monkeypatch.setattr(gpu, "DEVICE_ROW_BLOCK", 257)  # many blocks, merged
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(30, 3000)), int(rng.choice([8, 64, 384]))
    X = rng.normal(size=(6, d))[rng.integers(0, 6, n)] + 0.4 * rng.normal(size=(n, d))
    dup = int(rng.integers(0, 30))
    if dup:
        X[-dup:] = X[rng.integers(0, dup, dup)]  # exact ties
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    rows = gpu.DeviceRows(X, device="cpu")
    exclude = rng.random(n) < rng.choice([0.0, 0.5, 0.98])
    queries = X[rng.choice(n, size=int(rng.integers(1, 40)))]
    for k in (1, 7, 50, n + 3):
        got, want = rows.search(queries, k, exclude), exact_search(X, queries, k, exclude)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
