import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.index import ExactIndex, HnswIndex, build_index
from anchoral_widget.errors import InputError


def brute_force(X, q, k, exclude):
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = qn @ Xn.T
    sims[:, exclude] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def test_exact_index_matches_brute_force_and_excludes():
    X, _, _ = clustered_pool(n=500)
    exclude = np.zeros(500, dtype=bool)
    exclude[::3] = True
    ids, sims = ExactIndex(X).query(X[:7], 10, exclude=exclude)
    assert not exclude[ids].any()
    expected = brute_force(X, X[:7], 10, exclude)
    assert [set(r) for r in ids] == [set(r) for r in expected]
    assert np.all(np.diff(sims, axis=1) <= 1e-7), "best first"


def test_hnsw_recall_and_never_returns_excluded():
    X, _, _ = clustered_pool(n=3000, d=24)
    index = HnswIndex.build(X, seed=0)
    exclude = np.zeros(len(X), dtype=bool)
    exclude[np.random.default_rng(0).choice(len(X), 1500, replace=False)] = True
    queries = X[exclude][:20]  # labelled items as anchors: their neighbourhoods are mostly excluded
    ids, sims = index.query(queries, 50, exclude=exclude)
    assert (ids >= 0).all() and not exclude[ids].any()
    expected = brute_force(X, queries, 50, exclude)
    recall = np.mean([len(set(a) & set(b)) / 50 for a, b in zip(ids, expected)])
    assert recall > 0.95
    assert (sims <= 1 + 1e-5).all()


def test_short_rows_are_padded_when_few_items_are_eligible():
    X, _, _ = clustered_pool(n=100)
    exclude = np.ones(100, dtype=bool)
    exclude[[3, 5]] = False
    for index in (ExactIndex(X), HnswIndex.build(X)):
        ids, sims = index.query(X[:2], 4, exclude=exclude)
        assert set(ids[0, :2]) == {3, 5} and (ids[:, 2:] == -1).all() and np.isneginf(sims[:, 2:]).all()


def test_hnsw_save_load_roundtrip_and_mismatch(tmp_path):
    X, _, _ = clustered_pool(n=400)
    index = HnswIndex.build(X, seed=3)
    path = tmp_path / "pool.hnsw"
    index.save(path)
    loaded = HnswIndex.load(path, dim=X.shape[1], size=len(X))
    assert np.array_equal(index.query(X[:5], 10)[0], loaded.query(X[:5], 10)[0])
    with pytest.raises(InputError, match="400 items"):
        HnswIndex.load(path, dim=X.shape[1], size=401)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputError, match="corrupt"):
        HnswIndex.load(path, dim=X.shape[1])


def test_hnsw_build_is_reproducible():
    X, _, _ = clustered_pool(n=800)
    a = HnswIndex.build(X, seed=1).query(X[:10], 20)[0]
    b = HnswIndex.build(X, seed=1).query(X[:10], 20)[0]
    assert np.array_equal(a, b)


def test_bad_embeddings_and_queries_are_named():
    X, _, _ = clustered_pool(n=50)
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match="NaN or inf .* row 7"):
        build_index(bad)
    with pytest.raises(InputError, match="16-d"):
        ExactIndex(X).query(np.ones((1, 3)), 5)
    with pytest.raises(InputError, match="unknown index kind"):
        build_index(X, "annoy")  # "faiss" is a backend now (tests/test_backends.py)
    assert isinstance(build_index(X), ExactIndex)


def test_cached_index_is_reused_checked_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    from anchoral_widget.engine.index import cached_hnsw

    X, _, _ = clustered_pool(n=600)
    first = cached_hnsw(X, tmp_path, seed=0)
    built = []
    monkeypatch.setattr(HnswIndex, "build", classmethod(lambda cls, *a, **k: built.append(1) or first))
    again = cached_hnsw(X, tmp_path, seed=0)
    assert built == [] and np.array_equal(again.query(X[:3], 5)[0], first.query(X[:3], 5)[0])
    # A truncated file is rebuilt with a warning, never used.
    (index_file,) = (tmp_path / "indexes").glob("*.hnsw")
    index_file.write_bytes(index_file.read_bytes()[:500])
    with pytest.warns(UserWarning, match="unusable"):
        cached_hnsw(X, tmp_path, seed=0)
    assert built == [1]
    # Another pool gets another file.
    cached_hnsw(X[:-1], tmp_path, seed=0)
    assert len(list((tmp_path / "indexes").glob("*.hnsw"))) == 2
