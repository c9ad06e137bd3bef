"""Every bad input named in the store issue gets a clear error that names the problem, and
nothing stored changes. Each case: what is wrong, the call, the words the error must hold."""

import warnings

import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.search.hnsw import HnswIndex
from anchoral_widget.engine.vectors.encoder import Encoder
from anchoral_widget.errors import AnchorALError, EmptyPoolError, InputError
from anchoral_widget.session.startup import build_session

X, Y, _ = clustered_pool(n=300, d=8)
TEXTS = [f"text {i}" for i in range(300)]
CLASSES = ["other", "rare"]


def loop(embeddings=X, **kw):
    params = dict(classes=CLASSES, minority=["rare"], batch_size=10, subpool_size=100, neighbours=20, index="exact")
    params.update(kw)
    return ActiveLoop(embeddings, **params)


def session(texts=TEXTS, **kw):
    return build_session(
        texts,
        CLASSES,
        ["rare"],
        embeddings=X,
        encoder=None,
        store=None,
        subpool_size=100,
        neighbours=20,
        index="exact",
        **kw,
    )


def nan_embeddings():
    bad = X.copy()
    bad[17, 3] = np.nan
    return bad


CASES = [
    ("empty text", lambda: session([*TEXTS[:5], "   ", *TEXTS[6:]]), "empty or whitespace only, first rows: [5]"),
    ("non-string text", lambda: session([*TEXTS[:9], 3.5, *TEXTS[10:]]), "not strings (float), first rows: [9]"),
    ("empty pool", lambda: Encoder(cache_dir=False).encode([]), "texts is empty"),
    ("NaN embeddings", lambda: loop(embeddings=nan_embeddings()), "NaN or inf in 1 rows, first at row 17"),
    ("rows differ from texts", lambda: session(TEXTS[:-1]), "299 texts but 300 embeddings"),
    ("label not a class", lambda: loop().label([1], ["eye"]), "'eye' is not among the classes"),
    ("id out of range", lambda: loop().label([300], ["rare"]), "ids out of range [0, 300): [300]"),
    ("fewer items than b", lambda: loop(batch_size=301), "fewer than one batch"),
    ("fewer items than K", lambda: loop(neighbours=400), "fewer than neighbours=400"),
    ("fewer items than M", lambda: loop(subpool_size=400), "fewer than subpool_size=400"),
    ("budget beyond the pool", lambda: session(budget=301), "budget 301 is larger than the pool"),
    ("budget beyond the pool (simulate)", lambda: loop().simulate(Y, 301), "larger than the 300 unlabelled"),
    ("duplicate classes", lambda: loop(classes=["a", "b", "a"], minority=None), "duplicate classes: ['a']"),
    ("minority not a class", lambda: loop(minority=["eye"]), "minority class 'eye' is not among"),
    ("outside items for randsub", lambda: loop(pool_filter="randsub", outside_sample=10), "'randsub' filter has none"),
    ("negative outside items", lambda: loop(outside_sample=-1), "0 or more: got -1"),
]


@pytest.mark.parametrize("what, call, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named(what, call, words):
    with pytest.raises(InputError) as err:
        call()
    assert words in str(err.value)


def test_already_labelled_changes_nothing():
    lp = loop()
    lp.label([1, 2], ["rare", "other"])
    with pytest.raises(InputError, match=r"already labelled: \[2\]"):
        lp.label([3, 2], ["other", "other"])
    assert lp.labels == {1: "rare", 2: "other"}


def test_every_item_labelled_means_done():
    lp = loop(embeddings=X[:30], batch_size=10, subpool_size=20, neighbours=5)
    lp.label(np.arange(30), ["rare"] + ["other"] * 29)
    with pytest.raises(EmptyPoolError, match="the loop is done"):
        lp.propose()


def test_duplicate_texts_are_allowed_but_reported():
    texts = [*TEXTS[:-2], TEXTS[0], TEXTS[1]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = session(texts)
    assert any("2 texts repeat an earlier one" in str(w.message) for w in caught)
    s.close()


def test_wrong_dimension_against_a_saved_index(tmp_path):
    HnswIndex.build(X).save(tmp_path / "pool.hnsw")
    with pytest.raises(InputError, match="holds 8-d vectors, the pool has 16-d"):
        HnswIndex.load(tmp_path / "pool.hnsw", dim=16)
    (tmp_path / "pool.hnsw").write_bytes(b"\0" * 20)
    with pytest.raises(InputError, match="truncated"):
        HnswIndex.load(tmp_path / "pool.hnsw", dim=8)


def test_a_store_from_another_pool_and_a_corrupt_store(tmp_path):
    loop(store=tmp_path / "a.db").label([1], ["rare"])
    with pytest.raises(InputError, match="another pool"):
        ActiveLoop(X[::-1].copy(), CLASSES, ["rare"], subpool_size=100, store=tmp_path / "a.db")
    (tmp_path / "b.db").write_bytes(b"SQLite format 3\0" + b"\xff" * 2000)
    with pytest.raises(InputError, match="not a usable label store|damaged"):
        loop(store=tmp_path / "b.db")


def test_errors_are_one_family():
    assert issubclass(InputError, AnchorALError) and issubclass(EmptyPoolError, AnchorALError)
