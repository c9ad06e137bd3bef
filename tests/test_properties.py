"""Property-based tests of the loop's invariants under random sequences of user actions."""

import numpy as np
from conftest import clustered_pool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoral_widget.engine.loop import ActiveLoop

X, Y, _ = clustered_pool(n=300, d=8)
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["answer", "label", "skip", "undo", "partial"]), st.integers(0, 10**6)),
    min_size=1,
    max_size=25,
)


def snapshot(loop):
    return (
        dict(loop.labels),
        loop.skipped_ids.tolist(),
        loop._excluded.copy().tolist(),
        len(loop.history),
        None if loop.pending is None else loop.pending.batch_ids.tolist(),
    )


def check_partition(loop):
    labelled, skipped = set(loop.labels), set(loop.skipped_ids.tolist())
    unlabelled = set(np.flatnonzero(~loop._excluded).tolist())
    assert not labelled & skipped and not labelled & unlabelled and not skipped & unlabelled
    assert labelled | skipped | unlabelled == set(range(len(X)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, pool_filter=st.sampled_from(["anchoral", "randsub", "seals", "none"]))
def test_invariants_hold_under_any_sequence(actions, pool_filter):
    loop = ActiveLoop(
        X,
        classes=["other", "rare"],
        minority=["rare"],
        pool_filter=pool_filter,
        batch_size=5,
        neighbours=10,
        subpool_size=50,
        index="exact",
        seed=0,
    )
    for action, pick in actions:
        free = np.flatnonzero(~loop._excluded)
        if len(free) == 0:
            break
        if action == "undo":
            loop.undo()
            check_partition(loop)
            continue
        if action in ("answer", "partial"):
            fresh = loop.pending is None
            p = loop.propose()
            assert set(p.batch_ids.tolist()) <= set(p.subpool_ids.tolist()), "a batch is inside its subpool"
            if fresh:
                assert not loop._excluded[p.subpool_ids].any(), "a new subpool holds only unlabelled items"
            ids = p.unanswered(loop._excluded)
            if action == "partial":
                ids = ids[: 1 + pick % len(ids)]
            do = lambda ids=ids: loop.label(ids, Y[ids])
        elif action == "label":
            ids = free[[pick % len(free)]]
            do = lambda ids=ids: loop.label(ids, Y[ids])
        else:
            ids = free[[pick % len(free)]]
            do = lambda ids=ids: loop.skip(ids)
        before = snapshot(loop)
        do()
        check_partition(loop)
        after = snapshot(loop)
        loop.undo()
        assert snapshot(loop) == before, "undo restores the previous state exactly"
        do()
        assert snapshot(loop) == after, "and doing it again gives the same state"
