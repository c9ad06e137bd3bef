import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.method.filters import AnchorAL, NoFilter, PoolState, RandSub, Seals, make_filter
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.search.hnsw import HnswIndex
from anchoral_widget.errors import EmptyPoolError, InputError


def state(X, y, labelled, index=None, seed=0, classes=("other", "rare")):
    labelled = np.asarray(labelled, dtype=np.int64)
    excluded = np.zeros(len(X), dtype=bool)
    excluded[labelled] = True
    return PoolState(
        embeddings=X,
        index=index if index is not None else ExactIndex(X),
        excluded=excluded,
        labelled_ids=labelled,
        labelled_classes=np.array([classes.index(v) for v in y[labelled]], dtype=np.int64),
        n_classes=len(classes),
        minority={1},
        rng=np.random.default_rng(seed),
    )


def test_anchoral_subpool_equals_brute_force_from_the_same_anchors():
    X, y, _ = clustered_pool(n=600)
    labelled = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:40]]
    s = state(X, y, labelled)
    f = AnchorAL(anchors_per_class=5, neighbours=20, subpool_size=60)
    sub = f(s)

    # Recompute by hand: cosine similarity of every unlabelled item to every anchor, K best
    # per anchor, mean similarity over the anchors that retrieved an item, M best.
    sims = X[sub.anchor_ids] @ X.T
    sims[:, labelled] = -np.inf
    retrieved = {}
    for row in sims:
        for item in np.argsort(-row, kind="stable")[:20]:
            retrieved.setdefault(int(item), []).append(row[item])
    scores = {i: np.mean(v) for i, v in retrieved.items()}
    best = sorted(scores, key=lambda i: (-scores[i], i))[:60]
    assert sub.ids.tolist() == best
    assert np.allclose(sub.scores, [scores[i] for i in best], atol=1e-5)
    # 3 minority labels < A=5: all of them are anchors; the majority gets exactly A.
    assert set(sub.anchor_ids[sub.anchor_classes == 1]) == set(labelled[:3])
    assert (sub.anchor_classes == 0).sum() == 5
    assert not np.isin(sub.ids, labelled).any()


def test_anchoral_with_hnsw_agrees_with_exact():
    X, y, _ = clustered_pool(n=2000)
    labelled = np.r_[np.flatnonzero(y == "rare")[:8], np.flatnonzero(y == "other")[:50]]
    f = AnchorAL(anchors_per_class=10, neighbours=50, subpool_size=300)
    exact = f(state(X, y, labelled))
    approx = f(state(X, y, labelled, index=HnswIndex.build(X)))
    assert np.array_equal(exact.anchor_ids, approx.anchor_ids)
    assert len(set(exact.ids) & set(approx.ids)) / 300 > 0.95


def test_nothing_labelled_gives_a_random_subpool_of_size_M():
    X, y, _ = clustered_pool(n=500)
    sub = AnchorAL(subpool_size=100)(state(X, y, []))
    other = AnchorAL(subpool_size=100)(state(X, y, [], seed=1))
    assert len(sub.ids) == 100 == len(set(sub.ids)) and sub.scores is None and len(sub.anchor_ids) == 0
    assert set(sub.ids) != set(other.ids)


def test_randsub_is_a_fresh_sample_each_time():
    X, y, _ = clustered_pool(n=500)
    labelled = np.arange(50)
    f = RandSub(subpool_size=100)
    s = state(X, y, labelled)
    first, second = f(s).ids, f(s).ids  # same state object, its generator moves on
    assert len(first) == len(second) == 100
    assert set(first) != set(second)
    assert not np.isin(first, labelled).any()
    # And it is reproducible from the seed.
    assert np.array_equal(f(state(X, y, labelled, seed=4)).ids, f(state(X, y, labelled, seed=4)).ids)


def test_seals_grows_and_never_contains_a_labelled_item():
    X, y, _ = clustered_pool(n=1000)
    f = Seals(neighbours=10)
    labelled = list(range(5))
    sizes = []
    for _step in range(5):
        sub = f(state(X, y, labelled))
        assert not np.isin(sub.ids, labelled).any()
        sizes.append(len(sub.ids))
        labelled += sub.ids[:5].tolist()  # label the top of the subpool, as a strategy might
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    # Every item is a K-neighbour of some labelled item; its score is its best similarity.
    sub = f(state(X, y, labelled))
    sims = X[sub.ids] @ X[labelled].T
    assert np.all(sub.scores <= sims.max(axis=1) + 1e-5)


def test_seals_undo_removes_exactly_the_contribution():
    X, y, _ = clustered_pool(n=800)
    f = Seals(neighbours=10)
    before = f(state(X, y, [1, 2]))
    f(state(X, y, [1, 2, 3]))
    after_undo = f(state(X, y, [1, 2]))
    assert np.array_equal(before.ids, after_undo.ids)


def test_none_is_the_whole_unlabelled_pool():
    X, y, _ = clustered_pool(n=300)
    sub = NoFilter()(state(X, y, [0, 1, 2]))
    assert np.array_equal(sub.ids, np.arange(3, 300))


def test_empty_pool_and_unknown_filter():
    X, y, _ = clustered_pool(n=100)
    for f in (AnchorAL(subpool_size=10), RandSub(10), NoFilter()):
        with pytest.raises(EmptyPoolError):
            f(state(X, y, np.arange(100)))
    with pytest.raises(InputError, match="unknown pool filter 'sealz'"):
        make_filter("sealz")


def test_each_subpool_item_knows_the_anchor_that_retrieved_it_best():
    X, y, _ = clustered_pool(n=600)
    labelled = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:40]]
    sub = AnchorAL(anchors_per_class=5, neighbours=20, subpool_size=60)(state(X, y, labelled))
    sims = X[sub.anchor_ids] @ X.T
    sims[:, labelled] = -np.inf
    top = np.argsort(-sims, axis=1, kind="stable")[:, :20]
    for item, anchor in zip(sub.ids, sub.retrieved_by):
        retrievers = [a for a, row in zip(sub.anchor_ids, top) if item in row]
        assert anchor in retrievers
        assert X[anchor] @ X[item] == pytest.approx(max(X[a] @ X[item] for a in retrievers), abs=1e-6)


@pytest.mark.parametrize("index_kind", ["exact", "hnsw"])
def test_seals_subpool_is_a_function_of_the_labelled_set_not_of_its_history(index_kind):
    # A store reopened in a fresh process starts with a fresh filter: its subpool must be the
    # one the uninterrupted filter gives, after any number of iterations and an undo.
    from anchoral_widget.engine.search.index import build_index

    X, y, _ = clustered_pool(n=1500)
    index = build_index(X, index_kind)
    running = Seals(neighbours=10)
    labelled = list(range(5))
    for step in range(6):
        sub = running(state(X, y, labelled, index=index))
        fresh = Seals(neighbours=10)(state(X, y, labelled, index=index))
        assert np.array_equal(sub.ids, fresh.ids) and np.allclose(sub.scores, fresh.scores), step
        if step == 3:
            labelled = labelled[:-5]  # an undo
        else:
            labelled += sub.ids[:5].tolist()


def test_seals_gives_each_labelled_item_its_k_nearest_unlabelled_neighbours():
    X, y, _ = clustered_pool(n=800)
    labelled = np.r_[np.arange(3), np.argsort(-(X @ X[0]))[:300]]  # item 0's neighbourhood labelled
    labelled = np.unique(labelled)
    s = state(X, y, labelled)
    sub = Seals(neighbours=10)(s)
    sims = X[labelled] @ X.T
    sims[:, labelled] = -np.inf
    expected = np.unique(np.argsort(-sims, axis=1, kind="stable")[:, :10])
    assert set(sub.ids.tolist()) == set(expected.tolist())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_outside_items_join_the_anchors_subpool_unchanged(seed):
    X, y, _ = clustered_pool(n=3000, seed=seed)
    rng = np.random.default_rng(seed)
    labelled = np.r_[np.flatnonzero(y == "rare")[:4], rng.choice(np.flatnonzero(y == "other"), 60, replace=False)]
    s = state(X, y, labelled, seed=seed)
    s.excluded[rng.choice(len(X), 300, replace=False)] = True  # skipped or not yet encoded
    fresh = lambda: PoolState(**{**s.__dict__, "rng": np.random.default_rng(seed)})
    paper = AnchorAL(anchors_per_class=5, neighbours=20, subpool_size=100)(fresh())
    sub = AnchorAL(anchors_per_class=5, neighbours=20, subpool_size=100, outside=400)(fresh())
    inside = np.isin(sub.ids, paper.ids)
    # the anchors and their subpool are the paper's; the rest are about 400 items from elsewhere
    assert np.array_equal(sub.anchor_ids, paper.anchor_ids)
    assert sub.ids[inside].tolist() == paper.ids.tolist() and np.allclose(sub.scores[inside], paper.scores)
    extra = sub.ids[~inside]
    assert 300 <= len(extra) <= 400 and len(np.unique(sub.ids)) == len(sub.ids)
    assert not s.excluded[extra].any() and not np.isin(extra, labelled).any()
    assert (sub.retrieved_by[~inside] == -1).all() and (sub.scores[~inside] == 0).all()
    assert (sub.retrieved_by[inside] >= 0).all()


def test_outside_items_are_a_uniform_draw():
    X, y, _ = clustered_pool(n=2000)
    labelled = np.r_[np.flatnonzero(y == "rare")[:4], np.flatnonzero(y == "other")[:40]]
    f = AnchorAL(anchors_per_class=5, neighbours=20, subpool_size=100, outside=200)
    hits = np.zeros(len(X))
    for seed in range(200):
        sub = f(state(X, y, labelled, seed=seed))
        hits[sub.ids[sub.retrieved_by == -1]] += 1
    free = hits[~np.isin(np.arange(len(X)), labelled)]
    # no corner of the pool is favoured: each free item drawn about 200 * 200 / 1,956 = 20 times
    assert free.mean() == pytest.approx(200 * 200 / len(free), rel=0.15)
    assert free.std() < 2 * np.sqrt(free.mean())
