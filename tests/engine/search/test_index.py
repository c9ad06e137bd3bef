import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.search.hnsw import HnswIndex
from anchoral_widget.engine.search.index import build_index, index_kind
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
    with pytest.raises(InputError, match="unknown index 'annoy'"):
        build_index(X, "annoy")
    assert isinstance(build_index(X), ExactIndex)


def test_cached_index_is_reused_checked_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    from anchoral_widget.engine.search.hnsw import cached_hnsw

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


def _duplicate_heavy(n=5000, distinct=10, d=16, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(distinct, d)).astype(np.float32)
    X = base[rng.integers(0, distinct, n)]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _assert_exact_answer(X, q, k, exclude, ids, sims):
    """Every row holds the k best eligible items (by similarity), best first, padded after."""
    S = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ X.T
    S[:, exclude] = -np.inf
    expected = np.sort(S, axis=1)[:, ::-1][:, :k]
    n_eligible = int((~exclude).sum())
    for row_ids, row_sims, want in zip(ids, sims, expected):
        got = row_ids[row_ids >= 0]
        assert len(got) == min(k, n_eligible) == len(set(got.tolist()))
        assert not exclude[got].any()
        assert np.allclose(row_sims[: len(got)], want[: len(got)], atol=1e-5)  # best first


@pytest.fixture(scope="module")
def duplicate_heavy_indexes(tmp_path_factory):
    X = _duplicate_heavy()
    hnsw = build_index(X, "hnsw")
    path = tmp_path_factory.mktemp("dup") / "dup.hnsw"
    hnsw.save(path)
    return X, {
        "exact": build_index(X, "exact"),
        "hnsw": hnsw,
        "auto": build_index(X),
        # exact answers then read the graph's own vectors
        "hnsw-loaded-without-vectors": HnswIndex.load(path, dim=X.shape[1]),
    }


@pytest.mark.parametrize("kind", ["exact", "hnsw", "auto", "hnsw-loaded-without-vectors"])
@pytest.mark.parametrize("eligible", [30, 60, 3000])
def test_duplicate_heavy_nearly_exhausted_pool(kind, eligible, duplicate_heavy_indexes, monkeypatch):
    # hnswlib cannot always return k items from a pool of many identical vectors; with the
    # unlabelled pool nearly exhausted, over-fetching used to ask it for more than it could give.
    import anchoral_widget.engine.search.hnsw as hnsw_module

    X, indexes = duplicate_heavy_indexes
    index = indexes[kind]
    rng = np.random.default_rng(1)
    exclude = np.ones(len(X), dtype=bool)
    exclude[rng.choice(len(X), eligible, replace=False)] = False
    q = X[:5]
    for graph_only in (False, True):
        if graph_only:  # and with the exact shortcut for small pools turned off
            monkeypatch.setattr(hnsw_module, "EXACT_WHEN_FEWER", 0)
        ids, sims = index.query(q, 50, exclude=exclude)
        _assert_exact_answer(X, q, 50, exclude, ids, sims)


def test_overfetch_is_capped_and_crowded_rows_are_answered_exactly(monkeypatch):
    # Labels gathered around an anchor: its 1,500 nearest items are labelled. Doubling the
    # request until enough unlabelled items come back used to ask for thousands of them.
    import anchoral_widget.engine.search.hnsw as hnsw_module

    X, _, _ = clustered_pool(n=4000, d=16)
    monkeypatch.setattr(hnsw_module, "EXACT_WHEN_FEWER", 0)
    index = HnswIndex.build(X, check_rows=0)
    exclude = np.zeros(len(X), dtype=bool)
    exclude[np.argsort(-(X @ X[0]))[:1500]] = True
    asked = []
    graph = index._index

    class Spy:
        def __getattr__(self, name):
            return getattr(graph, name)

        def knn_query(self, data, k, **kw):
            asked.append(k)
            return graph.knn_query(data, k=k, **kw)

    index._index = Spy()
    ids, sims = index.query(X[:3], 50, exclude=exclude)
    assert max(asked) <= hnsw_module.MAX_OVERFETCH * 50 + 16
    _assert_exact_answer(X, X[:3], 50, exclude, ids[:1], sims[:1])  # the crowded row: exact
    assert not exclude[ids].any() and (ids >= 0).all()


def test_recall_check_answers_exactly_and_warns_when_the_graph_misses_neighbours(monkeypatch):
    import anchoral_widget.engine.search.hnsw as hnsw_module

    monkeypatch.setattr(hnsw_module, "EXACT_WHEN_FEWER", 0)
    X, _, _ = clustered_pool(n=3000, d=16)
    index = HnswIndex.build(X)
    graph = index._index

    class Lost:
        """A graph that misses a region: it answers for the wrong vectors."""

        def __getattr__(self, name):
            return getattr(graph, name)

        def knn_query(self, data, k, **kw):
            return graph.knn_query(-data, k=k, **kw)

    index._index = Lost()
    exclude = np.zeros(len(X), dtype=bool)
    exclude[::7] = True
    with pytest.warns(UserWarning, match="exact search"):
        ids, sims = index.query(X[:20], 50, exclude=exclude)
    assert min(index.recalls_) < index.min_recall and index.fallbacks_ == 1
    _assert_exact_answer(X, X[:20], 50, exclude, ids, sims)
    # Without the pool's vectors nothing can be checked: the graph's answer stands.
    unchecked = HnswIndex(index._index, index.size, index.dim)
    assert unchecked.query(X[:20], 50, exclude=exclude)[0].shape == (20, 50) and unchecked.recalls_ == []


def test_a_good_graph_passes_its_recall_check_silently(monkeypatch):
    import warnings

    import anchoral_widget.engine.search.hnsw as hnsw_module

    monkeypatch.setattr(hnsw_module, "EXACT_WHEN_FEWER", 0)
    X, _, _ = clustered_pool(n=3000, d=16)
    index = HnswIndex.build(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        index.query(X[:20], 50, exclude=np.arange(len(X)) % 5 == 0)
    assert len(index.recalls_) == index.check_rows and min(index.recalls_) >= 0.9


def test_exact_search_does_not_depend_on_its_blocks_and_breaks_ties_by_id(monkeypatch):
    import anchoral_widget.engine.search.exact as exact_module

    X = _duplicate_heavy(n=700, distinct=40)
    exclude = np.random.default_rng(2).random(700) < 0.3
    whole = ExactIndex(X).query(X[:9], 60, exclude=exclude)
    monkeypatch.setattr(exact_module, "ROW_BLOCK", 37)
    monkeypatch.setattr(exact_module, "QUERY_BLOCK", 2)
    blocks = ExactIndex(X).query(X[:9], 60, exclude=exclude)
    assert np.allclose(whole[1], blocks[1], atol=1e-6)
    # The same answer up to ties: BLAS may round a duplicate's dot product one unit differently
    # at another place in a block, so which of two equal items comes first may change.
    true_sims = X[:9].astype(np.float64) @ X.astype(np.float64).T
    rows = np.arange(9)[:, None]
    assert np.allclose(true_sims[rows, whole[0]], true_sims[rows, blocks[0]], atol=1e-6)
    assert not exclude[whole[0]].any() and not exclude[blocks[0]].any()
    for row_ids, row_sims in zip(*whole):  # equal similarities come lower id first
        for a, b, sa, sb in zip(row_ids, row_ids[1:], row_sims, row_sims[1:]):
            assert sa > sb or a < b


def test_auto_is_exact_up_to_its_threshold():
    X, _, _ = clustered_pool(n=600)
    assert isinstance(build_index(X), ExactIndex)
    assert isinstance(build_index(X, exact_up_to=599), HnswIndex)


def test_auto_leaves_a_memory_mapped_pool_on_disk_beyond_its_threshold(tmp_path, monkeypatch):
    """Beyond the exact-search size, a memory-mapped pool gets FAISS (read in blocks from the
    file), never an in-memory HNSW graph, whose build would copy the whole file into memory."""
    from anchoral_widget.engine.search.backends.faiss import FaissIndex
    from anchoral_widget.engine.vectors.shards import write_embeddings

    X, _, _ = clustered_pool(n=2000)
    mapped = write_embeddings(tmp_path / "pool.npy", X, dtype="float16")
    monkeypatch.setattr(
        HnswIndex, "build", classmethod(lambda *a, **k: pytest.fail("copied the mapped pool into HNSW"))
    )
    index = build_index(mapped, exact_up_to=1999)
    assert isinstance(index, FaissIndex) and index._vectors is mapped
    assert isinstance(build_index(mapped), ExactIndex), "up to the threshold: exact search over the file"
    assert index_kind("auto", 2000, 1999, mapped=True) == "faiss"
    assert index_kind("auto", 2000, 1999) == "hnsw", "embeddings in memory keep the HNSW graph"


def test_index_header_is_read_without_loading_the_file(tmp_path, monkeypatch):
    from pathlib import Path

    X, _, _ = clustered_pool(n=300)
    HnswIndex.build(X).save(tmp_path / "pool.hnsw")

    def read_all(self):
        raise AssertionError("read the whole index file to check its header")

    monkeypatch.setattr(Path, "read_bytes", read_all)
    assert HnswIndex.load(tmp_path / "pool.hnsw", dim=X.shape[1], size=300).size == 300


def test_cache_keeps_one_index_per_pool_and_build_settings(tmp_path):
    from anchoral_widget.engine.search.hnsw import HNSW_EF_CONSTRUCTION, cached_hnsw

    X, _, _ = clustered_pool(n=500)
    cached_hnsw(X, tmp_path)
    cached_hnsw(X, tmp_path, ef_construction=100)  # another setting: its own file
    again = build_index(X, "hnsw", cache_dir=tmp_path)  # found, not rebuilt or overwritten
    files = sorted(p.name for p in (tmp_path / "indexes").glob("*.hnsw"))
    assert len(files) == 2 and any(f"efc{HNSW_EF_CONSTRUCTION}" in f for f in files)
    assert again.size == 500


def test_loops_with_other_seeds_share_one_cached_index(tmp_path):
    from anchoral_widget.engine.loop.active import ActiveLoop

    X, _, _ = clustered_pool(n=500)
    for seed in (0, 1, 2):
        loop = ActiveLoop(X, classes=["other", "rare"], index="hnsw", cache_dir=tmp_path, seed=seed, subpool_size=50)
        assert loop.index.size == 500
    assert len(list((tmp_path / "indexes").glob("*.hnsw"))) == 1
