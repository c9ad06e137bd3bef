"""Exact search on a CUDA device answers what the CPU sweep answers, to the bit: the same ids in
the same order, the same similarities, with exclusions, ties and duplicates."""

import numpy as np
import pytest

from anchoral_widget.engine.search.exact import ExactIndex, exact_search
from anchoral_widget.engine.search.neighbour_lists import NeighbourLists

pytestmark = pytest.mark.gpu


def pool(n, d, seed, duplicates=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(8, d))[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, d))
    if duplicates:
        X[-duplicates:] = X[rng.integers(0, duplicates, duplicates)]
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_the_device_answers_as_the_cpu(seed):
    rng = np.random.default_rng(seed)
    X = pool(int(rng.integers(50, 5000)), int(rng.choice([8, 64, 384])), seed, duplicates=int(rng.integers(0, 40)))
    index = ExactIndex(X)
    assert index.on_device is not None, "a CUDA machine searches on the device"
    exclude = rng.random(len(X)) < rng.choice([0.0, 0.3, 0.97])
    queries = X[rng.choice(len(X), size=int(rng.integers(1, 70)))]
    for k in (1, 10, 50, len(X) + 5):
        got = index.query(queries, k, exclude=exclude)
        want = exact_search(X, queries, k, exclude)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_lists_fetched_on_the_device_agree_with_a_fresh_cpu_search():
    X = pool(3000, 64, 7, duplicates=100)
    device, lists = ExactIndex(X), NeighbourLists(first_depth_factor=2)
    excluded = np.zeros(len(X), dtype=bool)
    rng = np.random.default_rng(0)
    for _ in range(10):
        excluded[rng.choice(len(X), size=60, replace=False)] = True
        items = rng.choice(np.flatnonzero(excluded), size=15)
        ids, sims = lists.nearest(device, X, items, 20, excluded)
        want = exact_search(X, X[items], 20, excluded)
        np.testing.assert_array_equal(ids, want[0])
        np.testing.assert_array_equal(sims, want[1])
