import numpy as np
import pytest

from anchoral_widget.engine import pool as pool_module
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.pool import Pool
from anchoral_widget.engine.vectors import fingerprint as fingerprint_module
from anchoral_widget.errors import InputError

CLASSES = ["other", "rare"]


def test_the_embeddings_are_hashed_once_per_pool(pool, tmp_path, monkeypatch):
    X, y, _ = pool
    calls = []
    real = fingerprint_module.fingerprint_array
    monkeypatch.setattr(pool_module, "fingerprint_embeddings", lambda a: calls.append(1) or real(a))
    p = Pool(X, [f"t{i}" for i in range(len(X))], index="hnsw", cache_dir=tmp_path)
    loop = ActiveLoop(p, CLASSES, ["rare"], subpool_size=100, store=tmp_path / "labels.db")
    seeds = np.r_[np.flatnonzero(y == "rare")[:2], np.flatnonzero(y == "other")[:5]]
    loop.label(seeds, y[seeds])
    loop.propose()  # builds the index, which is cached under the embeddings' hash
    assert p.index_ready and len(list((tmp_path / "indexes").glob("*.hnsw"))) == 1
    assert len(calls) == 1
    assert p.fingerprint != p.embeddings_fingerprint  # the texts are part of the pool's identity


def test_a_loop_reads_the_pool_it_is_given(pool):
    X, _, _ = pool
    texts = [f"t{i}" for i in range(len(X))]
    p = Pool(X, texts)
    loop = ActiveLoop(p, CLASSES, subpool_size=100)
    assert loop.pool is p and loop.texts is texts and loop.embeddings is p.embeddings


def test_a_pool_and_pool_parameters_together_are_refused(pool, tmp_path):
    X, _, _ = pool
    with pytest.raises(TypeError, match="cache_dir"):
        ActiveLoop(Pool(X), CLASSES, subpool_size=100, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="index"):
        ActiveLoop(Pool(X), CLASSES, subpool_size=100, index="exact")


def test_features_follow_what_the_learner_reads(pool):
    X, _, _ = pool

    class ReadsText:
        inputs = "texts"

    texts = [f"t{i}" for i in range(len(X))]
    assert Pool(X, texts).features(ReadsText()) is texts
    assert Pool(X, texts).features(object()) is not texts
    with pytest.raises(InputError, match="reads text"):
        Pool(X).features(ReadsText())


def test_bad_pools_name_the_problem(pool):
    X, _, _ = pool
    with pytest.raises(InputError, match="3 texts but 2000 embeddings"):
        Pool(X, ["a", "b", "c"])
    bad = X.copy()
    bad[5, 0] = np.inf
    with pytest.raises(InputError, match="first at row 5"):
        Pool(bad)
