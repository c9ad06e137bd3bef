"""Neighbour lists kept between iterations answer exactly what a fresh search with the exclusion
mask answers, whatever was labelled, skipped, given back or fetched ahead before."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.search.neighbour_lists import NeighbourLists


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n, d, seed, duplicates=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, d))
    X = centres[rng.integers(0, 6, n)] + 0.3 * rng.normal(size=(n, d))
    if duplicates:  # the first rows repeated: ties everywhere
        X[n - duplicates :] = X[rng.integers(0, 5, duplicates)]
    return unit(X)


def step_sequences(actions, max_size):
    """Sequences of (action, seed of its random picks)."""
    return st.lists(st.tuples(st.sampled_from(actions), st.integers(0, 10**6)), min_size=1, max_size=max_size)


STEPS = step_sequences(["exclude", "include", "prefetch", "query"], 30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, seed=st.integers(0, 3), k=st.integers(1, 12), duplicates=st.sampled_from([0, 40]))
def test_lists_answer_as_a_fresh_search_after_any_sequence(steps, seed, k, duplicates):
    X = clustered(120, 6, seed, duplicates)
    index = ExactIndex(X)
    lists = NeighbourLists(first_depth_factor=2, max_depth_factor=4)  # shallow: deepening and fallback happen
    excluded = np.zeros(len(X), dtype=bool)
    for action, pick in steps:
        rng = np.random.default_rng(pick)
        if action == "exclude":  # a batch labelled or skipped: items near one another
            centre = rng.integers(len(X))
            near, _ = index.query(X[centre], int(rng.integers(1, 30)))
            excluded[near[near >= 0]] = True
        elif action == "include" and excluded.any():  # an undo gives items back
            back = rng.choice(
                np.flatnonzero(excluded), size=min(excluded.sum(), int(rng.integers(1, 10))), replace=False
            )
            excluded[back] = False
        elif action == "prefetch":
            batch = rng.choice(len(X), size=5, replace=False)
            ahead = excluded.copy()
            ahead[batch] = True
            lists.prefetch(index, X, batch, k, ahead)
        labelled = np.flatnonzero(excluded)
        items = rng.choice(labelled if len(labelled) else np.arange(len(X)), size=min(8, max(1, len(labelled))))
        got_ids, got_sims = lists.nearest(index, X, items, k, excluded)
        want_ids, want_sims = index.query(X[items], k, exclude=excluded)
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_array_equal(got_sims, want_sims)


def test_an_item_seen_before_is_answered_without_a_search():
    X = clustered(500, 8, 0)
    index, lists = ExactIndex(X), NeighbourLists()
    excluded = np.zeros(len(X), dtype=bool)
    excluded[:40] = True
    lists.nearest(index, X, np.arange(20), 10, excluded)
    assert lists.searched == 20
    excluded[40:60] = True  # a batch answered
    ids, _ = lists.nearest(index, X, np.arange(10, 30), 10, excluded)
    assert lists.searched == 30, "only the ten items never seen were searched"
    assert lists.reused == 10
    assert not excluded[ids[ids >= 0]].any()


def test_a_batch_fetched_ahead_costs_the_next_call_no_search():
    X = clustered(500, 8, 1)
    index, lists = ExactIndex(X), NeighbourLists()
    excluded = np.zeros(len(X), dtype=bool)
    excluded[:30] = True
    lists.nearest(index, X, np.arange(30), 10, excluded)
    batch = np.arange(30, 55)
    ahead = excluded.copy()
    ahead[batch] = True
    lists.prefetch(index, X, batch, 10, ahead)
    searched = lists.searched
    ids, sims = lists.nearest(index, X, np.arange(55), 10, ahead)
    assert lists.searched == searched
    want_ids, want_sims = index.query(X[:55], 10, exclude=ahead)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(sims, want_sims)


def test_prefetch_deepens_a_list_the_batch_would_leave_short():
    X = clustered(400, 8, 2)
    index, lists = ExactIndex(X), NeighbourLists(first_depth_factor=2)
    excluded = np.zeros(len(X), dtype=bool)
    lists.nearest(index, X, [0], 5, excluded)
    near, _ = index.query(X[0], 8)
    ahead = excluded.copy()
    ahead[near] = True  # the batch takes 8 of the 10 in item 0's list
    lists.prefetch(index, X, near, 5, ahead)
    searched = lists.searched
    ids, _ = lists.nearest(index, X, [0], 5, ahead)
    assert lists.searched == searched, "the deeper list was fetched ahead"
    np.testing.assert_array_equal(ids, index.query(X[0], 5, exclude=ahead)[0])


def test_lists_of_another_index_are_dropped():
    X = clustered(300, 8, 3)
    lists = NeighbourLists()
    excluded = np.zeros(len(X), dtype=bool)
    lists.nearest(ExactIndex(X), X, [0, 1], 5, excluded)
    Y = clustered(300, 8, 4)  # a better encoder's vectors of the same pool
    other = ExactIndex(Y)
    ids, _ = lists.nearest(other, Y, [0, 1], 5, excluded)
    np.testing.assert_array_equal(ids, other.query(Y[[0, 1]], 5)[0])
    assert len(lists) == 2


@pytest.mark.parametrize("left", [0, 1, 3, 7])
def test_a_nearly_exhausted_pool_is_still_exact(left):
    X = clustered(60, 4, 5, duplicates=30)
    index, lists = ExactIndex(X), NeighbourLists(first_depth_factor=2, max_depth_factor=4)
    excluded = np.ones(len(X), dtype=bool)
    excluded[np.random.default_rng(left).choice(len(X), size=left, replace=False)] = False
    ids, sims = lists.nearest(index, X, np.flatnonzero(excluded)[:10], 5, excluded)
    want_ids, want_sims = index.query(X[np.flatnonzero(excluded)[:10]], 5, exclude=excluded)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(sims, want_sims)
    assert (ids >= 0).sum(axis=1).max() == min(left, 5)
