"""A loop that keeps its anchors' neighbour lists between iterations proposes exactly what a loop
searching afresh every iteration proposes, after any sequence of labels, skips, undos,
corrections, lists fetched ahead and restarts from the label store."""

import numpy as np
from conftest import clustered_pool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.proposing import neighbours_ahead
from anchoral_widget.engine.loop.switch import switch_loop

X, Y, _ = clustered_pool(n=400, d=8, seed=3)
DUPLICATED = X.copy()
DUPLICATED[300:] = X[:100]  # every item of the first hundred twice: ties everywhere
ACTIONS = st.lists(
    st.sampled_from(["answer", "partial", "skip", "undo", "correct", "ahead", "restart"]), min_size=1, max_size=30
)


def make_loop(X, pool_filter, store=None, reuse=True):
    loop = ActiveLoop(
        X,
        classes=["other", "rare"],
        minority=["rare"],
        pool_filter=pool_filter,
        anchors_per_class=4,
        batch_size=8,
        neighbours=10,
        subpool_size=60,
        index="exact",
        seed=0,
    )
    if not reuse:
        loop.pool_filter.lists = None
    if store is not None:
        loop.open_store(store)
    return loop


def proposal_of(loop):
    if loop.pending is not None:  # asked before: returned as it was (a restored one keeps a cut subpool)
        return loop.pending, (loop.pending.batch_ids.tolist(),)
    p = loop.propose()
    return p, (
        p.batch_ids.tolist(),
        p.subpool_ids.tolist(),
        None if p.subpool_scores is None else p.subpool_scores.tolist(),
        p.anchor_ids.tolist(),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS, pool_filter=st.sampled_from(["anchoral", "seals"]), duplicated=st.booleans())
def test_kept_lists_propose_what_a_fresh_search_proposes(tmp_path_factory, actions, pool_filter, duplicated):
    pool = DUPLICATED if duplicated else X
    store = tmp_path_factory.mktemp("store") / "labels.jsonl"
    kept, fresh = make_loop(pool, pool_filter, store), make_loop(pool, pool_filter, reuse=False)
    seed = np.r_[np.flatnonzero(Y == "rare")[:3], np.flatnonzero(Y == "other")[:12]]
    for loop in (kept, fresh):
        loop.label(seed, Y[seed])
    for step, action in enumerate(actions):
        if not (~kept.excluded).any():
            break
        if action in ("answer", "partial"):
            p, seen = proposal_of(kept)
            assert seen == proposal_of(fresh)[1][: len(seen)]
            ids = p.batch_ids[: 3 if action == "partial" else None]
            ids = ids[~kept.excluded[ids]]
            for loop in (kept, fresh):
                loop.label(ids, Y[ids])
        elif action == "skip":
            free = np.flatnonzero(~kept.excluded)
            ids = free[[step % len(free)]]
            for loop in (kept, fresh):
                loop.skip(ids)
        elif action == "undo":
            for loop in (kept, fresh):
                loop.undo()
        elif action == "correct" and kept.events and kept.events[-1].kind == "label":
            # the last answers were wrong: taken back and given again with the other class
            ids = kept.events[-1].ids
            for loop in (kept, fresh):
                loop.undo()
                loop.label(ids, np.where(Y[ids] == "rare", "other", "rare"))
        elif action == "ahead" and kept.pending is not None:
            job = neighbours_ahead(kept, kept.pending.batch_ids)
            assert job is not None
            job()
        elif action == "restart":
            kept.store.close()
            kept = make_loop(pool, pool_filter, store)
    if (~kept.excluded).any():
        seen = proposal_of(kept)[1]
        assert seen == proposal_of(fresh)[1][: len(seen)]


def test_the_next_batch_after_lists_fetched_ahead_searches_nothing():
    loop = make_loop(X, "anchoral")
    seed = np.r_[np.flatnonzero(Y == "rare")[:3], np.flatnonzero(Y == "other")[:30]]
    loop.label(seed, Y[seed])
    lists = loop.pool_filter.lists
    for _ in range(4):
        p = loop.propose()
        neighbours_ahead(loop, p.batch_ids)()  # while the person reads the batch
        searched = lists.searched
        loop.label(p.batch_ids, Y[p.batch_ids])
        loop.propose()
        assert lists.searched == searched, "the anchors' lists were all fetched ahead"
        loop.label(loop.pending.batch_ids, Y[loop.pending.batch_ids])


def test_lists_are_fetched_again_after_the_pool_moves_to_a_new_encoder():
    rng = np.random.default_rng(0)
    better = X + 0.3 * rng.normal(size=X.shape).astype(np.float32)
    better /= np.linalg.norm(better, axis=1, keepdims=True)
    seed = np.r_[np.flatnonzero(Y == "rare")[:3], np.flatnonzero(Y == "other")[:12]]
    for pool_filter in ("anchoral", "seals"):
        kept, fresh = make_loop(X, pool_filter), make_loop(X, pool_filter, reuse=False)
        for loop in (kept, fresh):
            loop.label(seed, Y[seed])
            p = loop.propose()
            loop.label(p.batch_ids, Y[p.batch_ids])
            switch_loop(loop, better)
        assert proposal_of(kept)[1] == proposal_of(fresh)[1], pool_filter
