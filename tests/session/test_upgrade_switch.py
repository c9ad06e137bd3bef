"""What the encoder upgrade asks of the engine: a pool swapped to new embeddings keeps its
identity and drops an index built over the old ones; a loop switched at any point keeps its labels,
history and store."""

import numpy as np
import pytest
from conftest import clustered_pool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.switch import switch_loop
from anchoral_widget.engine.pool import Pool, PoolSwapped
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.errors import InputError


@pytest.fixture(scope="module")
def two_encodings():
    X, y, _ = clustered_pool(n=600, seed=3)
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.normal(size=(X.shape[1] + 8, X.shape[1] + 8)))[0][:, : X.shape[1]]
    wide = (X @ Q.T + 0.05 * rng.normal(size=(len(X), X.shape[1] + 8))).astype(np.float32)
    wide /= np.linalg.norm(wide, axis=1, keepdims=True)
    return X, wide, np.asarray(y, dtype=object)


def test_a_swapped_pool_keeps_its_identity_and_searches_the_new_embeddings(two_encodings):
    X, wide, _ = two_encodings
    pool = Pool(X, [f"t{i}" for i in range(len(X))])
    identity, old_index = pool.fingerprint, pool.index
    pool.swap(wide)
    assert pool.fingerprint == identity and pool.identities[0] == identity
    assert pool.index is not old_index and isinstance(pool.index, ExactIndex) and pool.dim == wide.shape[1]
    ids, _ = pool.index.query(wide[:1], 5)
    assert ids[0, 0] == 0 and set(ids[0].tolist()) == set(np.argsort(-(wide @ wide[0]))[:5].tolist())
    with pytest.raises(InputError, match="599 rows but the pool has 600"):
        pool.swap(wide[1:])


def test_an_index_built_over_the_old_embeddings_is_dropped(two_encodings, held_index_build):
    X, wide, _ = two_encodings
    pool = Pool(X, index="hnsw")
    gate, building = held_index_build
    done = []
    thread = pool.start_index_build(done.append)
    assert building.wait(10)
    pool.swap(wide)
    gate.set()
    thread.join(60)
    assert isinstance(done[0], PoolSwapped) and not pool.index_ready
    assert pool.index.dim == wide.shape[1]


def _loop(X, y, store, **kw):
    return ActiveLoop(
        X, ["other", "rare"], ["rare"], batch_size=10, subpool_size=100, neighbours=20, store=store, seed=1, **kw
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(switch_at=st.integers(0, 3), mid_batch=st.booleans(), undo=st.booleans())
def test_a_loop_switched_at_any_point_keeps_its_labels_history_and_store(
    two_encodings, tmp_path_factory, switch_at, mid_batch, undo
):
    X, wide, y = two_encodings
    texts = [f"t{i}" for i in range(len(X))]
    test = (X[:50], y[:50])
    path = tmp_path_factory.mktemp("store") / "labels.db"
    loop = _loop(Pool(X, texts), y, path, test=test)
    identity = loop.pool.fingerprint
    seeds = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:7]]
    loop.label(seeds, y[seeds])
    given = dict(zip(seeds.tolist(), y[seeds].tolist()))
    for iteration in range(4):
        if iteration == switch_at and not mid_batch:
            switch_loop(loop, wide, wide[:50])
        batch = loop.propose().batch_ids
        loop.label(batch[:4], y[batch[:4]])
        if iteration == switch_at and mid_batch:  # the batch proposed on the old embeddings stays
            switch_loop(loop, wide, wide[:50])
            assert loop.propose().batch_ids.tolist() == batch.tolist()
        if undo:
            loop.undo()
            loop.label(batch[:4], y[batch[:4]])
        loop.label(batch[4:], y[batch[4:]])
        given.update(zip(batch.tolist(), y[batch].tolist()))
    assert loop.embeddings.shape[1] == wide.shape[1] and loop.test[0].shape[1] == wide.shape[1]
    assert loop.labels == given and len(loop.history) == 4
    loop.propose()
    history, pending = [(r.iteration, r.batch_ids, r.subpool_ids) for r in loop.history], loop.pending
    assert loop.pool.fingerprint == identity
    loop.store.close()
    # reopened on either embeddings, under the pool's first identity: the same state
    for embeddings in (X, wide):
        again = _loop(Pool(embeddings, texts, fingerprint=identity), y, path)
        assert again.labels == given
        assert [(r.iteration, r.batch_ids, r.subpool_ids) for r in again.history] == history
        assert again.pending.batch_ids.tolist() == pending.batch_ids.tolist()
        again.store.close()


def test_a_held_out_set_of_embeddings_must_come_from_the_new_encoder(two_encodings):
    X, wide, y = two_encodings
    loop = _loop(X, y, None, test=(X[:50], y[:50]))
    with pytest.raises(InputError, match="pass test_embeddings"):
        switch_loop(loop, wide)
    with pytest.raises(InputError, match=r"test_embeddings must have shape \(50, 24\)"):
        switch_loop(loop, wide, X[:50])
    assert loop.embeddings.shape[1] == X.shape[1], "nothing changed"
