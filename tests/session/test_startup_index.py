"""A session's index at start-up: exact search answers while the vector index is built in the
background, the loop switches to it between batches, and a failed build keeps exact search."""

import time

import numpy as np
import pytest
from conftest import clustered_pool
from encode_child import HashModel, fake_encoder
from startups import SMALL, TEXTS, started

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.pool import Pool
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.search.hnsw import HnswIndex
from anchoral_widget.session.startup import start_session


@pytest.fixture(scope="module")
def pool3k():
    X, y, _ = clustered_pool(n=3000, d=32, seed=3)
    return X, y


def loop_on(pool, y, **kw):
    params = dict(batch_size=10, subpool_size=300, neighbours=50, seed=0)
    params.update(kw)
    loop = ActiveLoop(pool, ["other", "rare"], ["rare"], **params)
    seeds = np.r_[np.flatnonzero(y == "rare")[:4], np.flatnonzero(y == "other")[:20]]
    loop.label(seeds, y[seeds])
    return loop


def test_exact_search_answers_while_the_index_is_built_and_the_loop_switches_between_batches(pool3k, held_index_build):
    X, y = pool3k
    pool = Pool(X, index="hnsw")
    gate, building = held_index_build
    told = []
    done = []
    thread = pool.start_index_build(done.append, num_threads=2, progress=lambda n, total: told.append((n, total)))
    assert building.wait(10)
    during = loop_on(pool, y)
    first = during.propose()
    assert isinstance(pool.index, ExactIndex) and not pool.index_ready
    gate.set()
    thread.join(60)
    assert isinstance(pool.index, HnswIndex) and done == [pool.index] and told[-1] == (3000, 3000)
    after = loop_on(pool, y)
    second = after.propose()
    exact = loop_on(Pool(X, index="exact"), y).propose()
    # exact search meanwhile is exact search: the same subpool, scores and batch
    assert first.subpool_ids.tolist() == exact.subpool_ids.tolist()
    assert first.batch_ids.tolist() == exact.batch_ids.tolist()
    # HNSW after the switch: the same subpool within its recall
    overlap = len(set(first.subpool_ids.tolist()) & set(second.subpool_ids.tolist())) / len(first.subpool_ids)
    assert overlap >= 0.95


def test_a_failed_index_build_keeps_exact_search_and_says_so(pool3k, monkeypatch):
    X, _y = pool3k
    real = Pool._make_index

    def broken(self, spec, **params):
        if spec != "exact":
            raise MemoryError("no room for the graph")
        return real(self, spec, **params)

    monkeypatch.setattr(Pool, "_make_index", broken)
    session = started(
        start_session([f"t{i}" for i in range(len(X))], ["other", "rare"], embeddings=X, index="hnsw", **SMALL)
    )
    assert session.wait(30)
    for _ in range(100):  # the index thread reports on its own
        if session.snapshot()["error"]:
            break
        time.sleep(0.05)
    assert (
        "the vector index could not be built (no room for the graph); exact search goes on"
        in session.snapshot()["error"]
    )
    assert isinstance(session.loop.pool.index, ExactIndex) and session.snapshot()["phase"] == "cold"
    session.close()


def test_the_session_builds_the_index_in_the_background_with_progress(pool3k):
    X, y = pool3k
    seeds = {int(i): "rare" for i in np.flatnonzero(y == "rare")[:3]} | {
        int(i): "other" for i in np.flatnonzero(y == "other")[:3]
    }
    session = started(
        start_session(
            [f"t{i}" for i in range(len(X))], ["other", "rare"], embeddings=X, index="hnsw", seed_labels=seeds, **SMALL
        )
    )
    assert session.wait(60)
    for _ in range(600):
        if session.loop.pool.index_ready:
            break
        time.sleep(0.1)
    assert isinstance(session.loop.pool.index, HnswIndex)
    time.sleep(0.1)
    index_reports = [e["startup"] for e in session.events if "startup" in e and e["startup"]["stage"] == "index"]
    assert index_reports and index_reports[-1]["total"] == 3000
    assert "exact search meanwhile" in index_reports[-1]["text"]
    assert session.snapshot()["startup"]["stage"] == "ready" and "index" in session.snapshot()["startup"]["seconds"]
    session.close()


def test_exact_search_is_made_once_and_a_cached_encode_stays_on_disk(tmp_path, monkeypatch):
    made = []
    real = Pool._make_index
    monkeypatch.setattr(Pool, "_make_index", lambda self, spec, **p: made.append(spec) or real(self, spec, **p))
    encoder = fake_encoder(tmp_path / "model", tmp_path / "cache", HashModel())
    seeds = {0: "eye", 1: "other", 12: "eye", 2: "other"}
    session = started(start_session(TEXTS, ["other", "eye"], encoder=encoder, seed_labels=seeds, **SMALL))
    assert session.wait(30) and session.snapshot()["phase"] == "ready"
    time.sleep(0.2)
    assert made == ["auto"], "no second exact index built in the background"
    assert session.loop.pool.index_kind == "exact" and isinstance(session.loop.pool.index, ExactIndex)
    assert isinstance(session.loop.embeddings, np.memmap), "the pool's embeddings read from the cache file"
    session.close()


def test_a_pool_says_which_index_it_answers_with(pool3k):
    X, _ = pool3k
    assert Pool(X).index_kind == "exact" and Pool(X, index="hnsw").index_kind == "hnsw"
    assert Pool(X, index=ExactIndex(X)).index_kind == "given"
