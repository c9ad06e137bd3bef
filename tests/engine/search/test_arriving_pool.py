"""A pool whose rows arrive in parts (an encoder upgrade filling it): exact search reads only the
rows that are in, a row keeps its first vector, and neighbour lists kept across fills answer what
a fresh search answers."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_neighbour_lists import clustered, step_sequences

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.switch import switch_loop
from anchoral_widget.engine.pool import Pool
from anchoral_widget.engine.search import exact, gpu
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.search.neighbour_lists import NeighbourLists


def arriving(n=150, d=6, seed=0, present=40, duplicates=0):
    """A pool swapped to new vectors of which the first ``present`` rows are in."""
    first, new = clustered(n, d, seed), clustered(n, d, seed + 10, duplicates)
    pool = Pool(first)
    pool.swap(new.copy(), missing=np.arange(n) >= present)
    return pool, new


STEPS = step_sequences(["fill", "exclude", "prefetch", "query"], 25)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, seed=st.integers(0, 3), k=st.integers(1, 10), duplicates=st.sampled_from([0, 40]))
def test_lists_kept_across_fills_answer_as_a_fresh_search(steps, seed, k, duplicates):
    pool, new = arriving(seed=seed, duplicates=duplicates)
    lists = NeighbourLists(first_depth_factor=2, max_depth_factor=4)
    labelled = np.zeros(len(new), dtype=bool)
    for action, pick in steps:
        rng = np.random.default_rng(pick)
        if action == "fill" and pool.missing is not None:  # some rows again (ignored), some new
            ids = rng.choice(len(new), size=int(rng.integers(1, 40)))
            pool.fill(ids, new[ids])
        elif action == "exclude":
            labelled[rng.choice(len(new), size=int(rng.integers(1, 15)), replace=False)] = True
        excluded = labelled if pool.missing is None else labelled | pool.missing
        if action == "prefetch":
            lists.prefetch(pool.index, pool.embeddings, rng.choice(np.flatnonzero(~excluded), size=1), k, excluded)
        present = np.ones(len(new), dtype=bool) if pool.missing is None else ~pool.missing
        items = rng.choice(np.flatnonzero(present), size=6)  # anchors are labelled: their rows are in
        got = lists.nearest(pool.index, pool.embeddings, items, k, excluded)
        want = ExactIndex(new).query(new[items], k, exclude=excluded)  # the whole pool, the missing masked
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_a_list_kept_before_a_fill_takes_in_a_nearer_row_that_arrived():
    pool, new = arriving(n=200, present=20)
    lists = NeighbourLists()
    nearest_of_0 = int(ExactIndex(new).query(new[0], 2)[0][0, 1])  # its nearest other row of the whole pool
    assert pool.missing[nearest_of_0]
    excluded = pool.missing.copy()
    lists.nearest(pool.index, pool.embeddings, [0], 3, excluded)
    searched = lists.searched
    pool.fill([nearest_of_0], new[[nearest_of_0]])
    ids, _ = lists.nearest(pool.index, pool.embeddings, [0], 3, pool.missing)
    assert ids[0, 0] == 0 and ids[0, 1] == nearest_of_0
    assert lists.searched == searched, "brought up to date from the one row that came, not fetched again"


def test_a_row_keeps_the_vector_it_first_got():
    pool, new = arriving(n=50, present=10)
    pool.fill([20], new[[20]])
    pool.fill([20, 21], np.stack([new[5], new[21]]))  # row 20 again, with another vector
    np.testing.assert_array_equal(pool.embeddings[20], new[20])
    np.testing.assert_array_equal(pool.embeddings[21], new[21])


def test_few_rows_in_are_searched_without_sweeping_the_pool(monkeypatch):
    pool, new = arriving(n=400, present=30)
    swept = []
    search = exact.exact_search
    monkeypatch.setattr(exact, "exact_search", lambda *a, **kw: swept.append(kw.get("candidates")) or search(*a, **kw))
    ids, sims = pool.index.query(new[:3], 5)
    assert swept[-1] is not None and len(swept[-1]) == 30, "the 30 rows that are in, gathered"
    want = ExactIndex(new).query(new[:3], 5, exclude=pool.missing)
    np.testing.assert_array_equal(ids, want[0])
    np.testing.assert_array_equal(sims, want[1])
    pool.fill(np.arange(30, 300), new[30:300])  # most rows in: one sweep with the rest masked
    pool.index.query(new[:3], 5)
    assert swept[-1] is None


def test_a_loop_on_an_arriving_pool_reads_its_anchors_from_lists():
    X = clustered(400, 8, 1)
    y = np.where(np.arange(400) % 25 == 0, "rare", "other")
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], batch_size=5, subpool_size=40, neighbours=10, index="exact")
    seeds = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:7]]
    loop.label(seeds, y[seeds])
    new = clustered(400, 8, 2)
    missing = np.arange(400) >= 150
    missing[seeds] = False
    switch_loop(loop, new.copy(), missing=missing)
    for start in (150, 250):
        proposal = loop.propose()
        loop.label(proposal.batch_ids, y[proposal.batch_ids])
        loop.pool.fill(np.arange(start, start + 100), new[start : start + 100])
    lists = loop.pool_filter.lists
    reused = lists.reused
    loop.propose()
    assert lists.reused > reused, "the anchors' lists kept across the fills answered"


def test_the_lists_outlive_the_last_row_arriving(monkeypatch):
    monkeypatch.setattr(gpu, "device_capacity", lambda dim: 0)  # no CUDA device to move the rows to
    pool, new = arriving(n=200, present=150)
    index, lists = pool.index, NeighbourLists()
    lists.nearest(index, pool.embeddings, [0, 1], 5, pool.missing.copy())
    searched = lists.searched
    pool.fill(np.arange(150, 200), new[150:])
    assert pool.missing is None and pool.index is index, "exact search over the same rows, kept"
    ids, sims = lists.nearest(pool.index, pool.embeddings, [0, 1], 5, np.zeros(200, dtype=bool))
    want = ExactIndex(new).query(new[[0, 1]], 5)
    np.testing.assert_array_equal(ids, want[0])
    np.testing.assert_array_equal(sims, want[1])
    assert lists.searched == searched, "brought up to date with the last rows, not fetched again"
