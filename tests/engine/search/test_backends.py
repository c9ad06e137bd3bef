"""Index backends on one contract: FAISS (IVF-PQ, HNSW, flat) and Milvus (against milvus-lite).

Each backend: the loop's subpool equals the exact one within the backend's recall; labelled
items never come back, however many there are; a restarted kernel reconnects to what was built
(checked by fingerprint) without building it again. Milvus also: an unreachable server, a
collection of other embeddings or another dimension, and a server that dies mid-session.
"""

import logging
import warnings

import numpy as np
import pytest
from conftest import clustered_pool
from milvus_server import MilvusLiteServer, free_port

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.search.backends import IndexUnavailableError, open_index, parse_index, recall_at_k
from anchoral_widget.engine.search.backends.faiss import FaissIndex, cached_faiss, default_nlist
from anchoral_widget.engine.search.backends.milvus import MilvusIndex, collection_name
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.engine.vectors.fingerprint import fingerprint_array
from anchoral_widget.engine.vectors.shards import write_embeddings
from anchoral_widget.errors import InputError

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # a dead server is the point of some tests

N, D = 3000, 24


@pytest.fixture(scope="module")
def data():
    X, y, _ = clustered_pool(n=N, d=D, clusters=12, seed=1)
    return X, y, fingerprint_array(X)


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    server = MilvusLiteServer(tmp_path_factory.mktemp("milvus")).start()
    yield server
    server.kill()


BACKENDS = ["faiss:ivfpq", "faiss:hnsw", "faiss:flat", "milvus"]
#: the least recall@50 each backend must reach on the labelled anchors' neighbourhoods
MIN_RECALL = {"faiss:ivfpq": 0.97, "faiss:hnsw": 0.97, "faiss:flat": 1.0, "milvus": 1.0}


@pytest.fixture(scope="module")
def built(data, milvus):
    """Each backend built once over the module's pool."""
    X, _, fp = data
    out = {}
    for name in BACKENDS:
        spec = milvus.uri if name == "milvus" else name
        out[name] = open_index(spec, X, fingerprint=fp)
    return out


def eligible_mask(n, labelled, seed=0):
    exclude = np.zeros(n, dtype=bool)
    exclude[np.random.default_rng(seed).choice(n, labelled, replace=False)] = True
    return exclude


# ---- index= strings ------------------------------------------------------------------------


def test_index_strings_parse_and_bad_ones_say_what_is_wrong():
    assert parse_index("faiss").variant == "ivfpq"
    spec = parse_index("faiss:ivfpq?nlist=64&nprobe=8")
    assert spec.options == {"nlist": 64, "nprobe": 8}
    spec = parse_index("milvus://db.example:19531/my_pool?timeout=5")
    assert (spec.uri, spec.collection, spec.options["timeout"], spec.local) == (
        "http://db.example:19531",
        "my_pool",
        5.0,
        False,
    )
    assert parse_index("milvus://db.example").uri == "http://db.example:19530"
    assert parse_index("milvus+https://u:p@db.example/c").options["token"] == "u:p"
    local = parse_index("milvus:///tmp/pools/a.db/pool_1")
    assert (local.uri, local.collection, local.local) == ("/tmp/pools/a.db", "pool_1", True)
    assert parse_index("milvus:pool.db").collection is None
    for bad, match in [
        ("annoy", "unknown index"),
        ("faiss:lsh", "unknown FAISS index type"),
        ("faiss:ivfpq?nlist=abc", "not a whole number"),
        ("faiss:ivfpq?nlist=0", "at least 1"),
        ("faiss:ivfpq?colour=red", "unknown FAISS option"),
        ("milvus://db:port/x", "port"),
        ("milvus://db:19530/a/b", "one collection name"),
        ("milvus://db:19530/1abc", "not valid"),
        ("milvus:///tmp/pool/x", "neither a server"),
        ("milvus://db?colour=red", "unknown Milvus option"),
    ]:
        with pytest.raises(InputError, match=match):
            parse_index(bad)


# ---- the contract, for every backend ---------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_neighbours_match_exact_search_within_recall(built, data, name):
    X, _, _ = data
    index = built[name]
    assert (index.size, index.dim) == X.shape
    exclude = eligible_mask(N, 1200)
    queries = X[exclude][:20]  # labelled items as anchors: their neighbourhoods are partly labelled
    ids, sims = index.query(queries, 50, exclude=exclude)
    truth, _ = ExactIndex(X).query(queries, 50, exclude=exclude)
    assert ids.shape == sims.shape == (20, 50) and ids.dtype == np.int64 and sims.dtype == np.float32
    assert recall_at_k(ids, truth).mean() >= MIN_RECALL[name]
    assert np.all(np.diff(sims, axis=1) <= 1e-6), "best first"
    found = ids >= 0
    exact = np.einsum("qd,qkd->qk", queries, X[np.maximum(ids, 0)])
    assert np.allclose(sims[found], exact[found], atol=2e-3), "similarities are cosine similarities"


@pytest.mark.parametrize("name", BACKENDS)
def test_labelled_items_never_come_back_and_rows_are_padded(built, data, name):
    X, _, _ = data
    index = built[name]
    # All but 30 items labelled: a backend that over-fetched and dropped would need the whole pool.
    exclude = np.ones(N, dtype=bool)
    free = np.random.default_rng(5).choice(N, 30, replace=False)
    exclude[free] = False
    ids, sims = index.query(X[:4], 50, exclude=exclude)
    got = ids[ids >= 0]
    assert not exclude[got].any()
    if name != "faiss:hnsw":  # a filtered graph walk may stop short; the rest reach every free item
        assert all(set(row[:30]) == set(free) for row in ids)
    assert (ids[:, 30:] == -1).all() and np.isneginf(sims[:, 30:]).all()
    # Nothing eligible at all: every row is padding.
    ids, sims = index.query(X[:2], 5, exclude=np.ones(N, dtype=bool))
    assert (ids == -1).all() and np.isneginf(sims).all()
    with pytest.raises(InputError, match="shape"):
        index.query(X[:2, :5], 5)
    with pytest.raises(InputError, match="mask"):
        index.query(X[:2], 5, exclude=np.zeros(N + 1, dtype=bool))


@pytest.mark.parametrize("name", BACKENDS)
def test_the_loops_subpool_equals_the_exact_one_within_recall(built, data, name):
    X, y, _ = data
    seeds = np.concatenate([np.flatnonzero(y == "rare")[:6], np.flatnonzero(y == "other")[:30]])

    def subpool(index):
        loop = ActiveLoop(X, ["other", "rare"], ["rare"], index=index, subpool_size=300, batch_size=10, seed=2)
        loop.label(seeds, y[seeds])
        proposal = loop.propose()
        assert not np.isin(proposal.subpool_ids, seeds).any()
        return set(proposal.subpool_ids.tolist())

    exact = subpool("exact")
    assert len(subpool(built[name]) & exact) / len(exact) >= MIN_RECALL[name]


# ---- FAISS ------------------------------------------------------------------------------------


def test_faiss_on_memory_mapped_float16_embeddings(tmp_path, data):
    X, _, _ = data
    mapped = write_embeddings(tmp_path / "pool.npy", X, dtype="float16")
    index = FaissIndex.build(mapped, "ivfpq", seed=0)
    assert index._vectors is mapped, "the index re-ranks from the mapped file, not a copy"
    exclude = eligible_mask(N, 300, seed=3)
    ids, sims = index.query(X[:5], 50, exclude=exclude)
    # against exact search over the same float16 values (rounding reorders near-ties)
    truth, true_sims = ExactIndex(np.asarray(mapped, dtype=np.float32)).query(X[:5], 50, exclude=exclude)
    assert recall_at_k(ids, truth).mean() >= 0.97
    assert np.allclose(sims, true_sims, atol=1e-4)
    exact32 = ExactIndex(X).query(X[:5], 50, exclude=exclude)[1]
    assert np.allclose(sims, exact32, atol=3e-3)  # float16 rows: cosine within about 1e-3


def test_faiss_builds_are_reproducible_and_settings_are_checked(data):
    X, _, _ = data
    a = FaissIndex.build(X, "ivfpq", seed=4, refine=1)
    b = FaissIndex.build(X, "ivfpq", seed=4, refine=1)
    assert np.array_equal(a.query(X[:8], 10)[0], b.query(X[:8], 10)[0])
    assert a.nlist == default_nlist(N) and a.refine == 1
    with pytest.raises(InputError, match="divide"):
        FaissIndex.build(X, "ivfpq", m=5)
    with pytest.raises(InputError, match="cells"):
        FaissIndex.build(X[:100], "ivfpq", nlist=200)
    with pytest.raises(InputError, match="unknown FAISS index type"):
        FaissIndex.build(X, "lsh")


@pytest.mark.parametrize("nbits, kind", [(None, "IndexIVFPQFastScan"), (8, "IndexIVFPQ")])
def test_ivfpq_codes_fast_scan_by_default_or_classic(data, nbits, kind):
    X, _, _ = data
    index = FaissIndex.build(X, "ivfpq", nbits=nbits, seed=0)
    assert type(index._index).__name__ == kind
    assert index.params["codes"] == ("fs4" if nbits is None else "pq8")
    assert index._index.code_size == D // 8, "the same bytes per item whatever the bits per code"
    exclude = eligible_mask(N, 400, seed=5)
    ids, _ = index.query(X[:10], 50, exclude=exclude)
    assert not np.isin(ids, np.flatnonzero(exclude)).any(), "the selector works with either kind of codes"
    truth, _ = ExactIndex(X).query(X[:10], 50, exclude=exclude)
    assert recall_at_k(ids, truth).mean() >= MIN_RECALL["faiss:ivfpq"]


def test_an_index_cached_with_other_codes_is_not_taken_for_the_default(tmp_path, data):
    """An index cached before fast-scan became the default (8-bit codes, named without them)
    is left alone: the default builds its own."""
    import json

    X, _, fp = data
    folder = tmp_path / "indexes"
    folder.mkdir()
    FaissIndex.build(X, "ivfpq", nbits=8, seed=0).save(folder / f"{fp}.ivfpq.faiss")
    meta = {"fingerprint": fp, "size": N, "dim": D, "variant": "ivfpq"}
    (folder / f"{fp}.ivfpq.json").write_text(json.dumps(meta))
    index = cached_faiss(X, tmp_path, "ivfpq", fingerprint=fp)
    assert type(index._index).__name__ == "IndexIVFPQFastScan"


def test_a_restarted_kernel_loads_the_faiss_index_it_built(tmp_path, data, monkeypatch):
    X, _, fp = data
    first = cached_faiss(X, tmp_path, "ivfpq", fingerprint=fp)
    monkeypatch.setattr(FaissIndex, "build", classmethod(lambda *a, **k: pytest.fail("rebuilt a cached index")))
    again = cached_faiss(X, tmp_path, "ivfpq", fingerprint=fp)
    assert np.array_equal(first.query(X[:5], 10)[0], again.query(X[:5], 10)[0])
    assert again.params == first.params
    # Other embeddings (another fingerprint) never get this pool's index.
    monkeypatch.undo()
    other = X[::-1].copy()
    rebuilt = cached_faiss(other, tmp_path, "ivfpq", fingerprint=fingerprint_array(other))
    assert rebuilt.query(other[:1], 1)[0][0, 0] == 0
    # A corrupt file is rebuilt, never used.
    (path,) = [p for p in (tmp_path / "indexes").glob(f"{fp}.*.faiss")]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unusable"):
        cached_faiss(X, tmp_path, "ivfpq", fingerprint=fp)


def test_faiss_load_refuses_another_pools_index(tmp_path, data):
    X, _, _ = data
    index = FaissIndex.build(X, "flat")
    index.save(tmp_path / "a.faiss")
    with pytest.raises(InputError, match=f"holds {D}-d vectors"):
        FaissIndex.load(tmp_path / "a.faiss", "flat", dim=D + 1, size=N)
    with pytest.raises(InputError, match=f"holds {N} items"):
        FaissIndex.load(tmp_path / "a.faiss", "flat", dim=D, size=N + 1)
    (tmp_path / "b.faiss").write_bytes(b"not an index")
    with pytest.raises(InputError, match="corrupt"):
        FaissIndex.load(tmp_path / "b.faiss", "flat", dim=D, size=N)


# ---- Milvus -------------------------------------------------------------------------------------


def test_a_restarted_kernel_reconnects_to_the_collection_without_uploading(milvus, data, built, monkeypatch):
    X, _, fp = data
    first = built["milvus"]
    assert first.collection == collection_name(fp)
    monkeypatch.setattr(MilvusIndex, "_build", lambda *a, **k: pytest.fail("uploaded the pool again"))
    again = open_index(milvus.uri, X, fingerprint=fp)  # a new client, as after a restart
    assert (again.collection, again.size, again.dim) == (first.collection, N, D)
    assert np.array_equal(again.query(X[:3], 10)[0], first.query(X[:3], 10)[0])
    # Without the embeddings at hand (only the fingerprint), the collection is found all the same.
    bare = MilvusIndex.connect(milvus.uri, None, fingerprint=fp)
    assert (bare.size, bare.dim) == (N, D)


def test_milvus_refuses_a_collection_of_other_embeddings_or_another_dimension(milvus, data, built):
    X, _, fp = data
    name = built["milvus"].collection
    other = X[::-1].copy()
    with pytest.raises(InputError, match="built from other embeddings"):
        MilvusIndex.connect(f"{milvus.uri}/{name}", other, fingerprint=fingerprint_array(other))
    with pytest.raises(InputError, match=f"holds {D}-d vectors, the pool has 8-d"):
        MilvusIndex.connect(f"{milvus.uri}/{name}", X[:, :8], fingerprint=fp)
    with pytest.raises(InputError, match=f"holds {N} items"):
        MilvusIndex.connect(f"{milvus.uri}/{name}", X[:100], fingerprint=fp)
    with pytest.raises(InputError, match="no collection"):
        MilvusIndex.connect(f"{milvus.uri}/nothing_here", None, fingerprint=fp)


def test_milvus_rebuilds_a_half_uploaded_collection(milvus, data):
    X, _, _ = data
    small = X[:200].copy()
    fp = fingerprint_array(small)
    index = MilvusIndex.connect(f"{milvus.uri}/half_built", small, fingerprint=fp, batch_size=50)
    # as an upload cut short leaves it: the "complete" mark is written last
    index.client.alter_collection_properties("half_built", properties={"anchoral.state": "building"})
    with pytest.raises(InputError, match="half-built"):
        MilvusIndex.connect(f"{milvus.uri}/half_built", None, fingerprint=fp)
    with pytest.warns(UserWarning, match="half-built"):
        again = MilvusIndex.connect(f"{milvus.uri}/half_built", small, fingerprint=fp, batch_size=50)
    assert again.query(small[:1], 1)[0][0, 0] == 0
    again.drop()


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(IndexUnavailableError, match=r"cannot reach the Milvus server at http://127\.0\.0\.1"):
        MilvusIndex.connect(f"milvus://127.0.0.1:{free_port()}/pool", np.eye(4, dtype=np.float32), fingerprint="f")


def test_a_server_that_dies_mid_session_loses_no_label_and_the_session_carries_on(tmp_path, data):
    X, y, fp = data
    server = MilvusLiteServer(tmp_path / "milvus").start()
    try:
        index = open_index(server.uri, X, fingerprint=fp)
        store = tmp_path / "labels.db"
        loop = ActiveLoop(X, ["other", "rare"], ["rare"], index=index, batch_size=5, subpool_size=200, store=store)
        seeds = np.concatenate([np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:10]])
        loop.label(seeds, y[seeds])
        batch = loop.propose().batch_ids
        loop.label(batch, y[batch])  # the iteration is answered, and the next one needs the index

        server.kill()
        with pytest.raises(IndexUnavailableError, match="no label is lost"):
            loop.propose()
        assert loop.pending is None and len(loop.labels) == len(seeds) + len(batch)
        loop.label([int(np.flatnonzero(~loop.excluded)[0])], ["other"])  # labelling goes on meanwhile

        server.start()
        proposal = loop.propose()  # reconnects (and reloads the collection) by itself
        assert len(proposal.batch_ids) == 5 and not np.isin(proposal.batch_ids, loop.labelled_ids).any()

        # Every label is in the store: a new loop on a new connection resumes them all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resumed = ActiveLoop(
                X, ["other", "rare"], ["rare"], index=open_index(server.uri, X, fingerprint=fp), store=store
            )
        assert resumed.labels == loop.labels
    finally:
        server.kill()


def test_milvus_lite_file_uri_serves_the_same_api(tmp_path, data):
    X, _, _ = data
    small = X[:300].copy()
    index = open_index(f"milvus://{tmp_path}/pool.db/local_pool", small, fingerprint=fingerprint_array(small))
    assert index.uri == f"{tmp_path}/pool.db" and index.collection == "local_pool"
    ids, _ = index.query(small[:2], 3, exclude=eligible_mask(300, 100))
    assert (ids >= 0).all()


# ---- the same notebook code, past one machine ------------------------------------------------


def test_a_loop_over_memory_mapped_embeddings_with_index_strings(tmp_path, data, milvus):
    X, y, _ = data
    mapped = write_embeddings(tmp_path / "pool.npy", X, dtype="float16")
    seeds = np.concatenate([np.flatnonzero(y == "rare")[:4], np.flatnonzero(y == "other")[:12]])
    subpools = {}
    for index in ("faiss", milvus.uri + "/mapped_pool", "exact"):
        loop = ActiveLoop(mapped, ["other", "rare"], ["rare"], index=index, cache_dir=tmp_path / "cache", seed=1)
        assert loop.embeddings is mapped or np.shares_memory(loop.embeddings, mapped), "never copied into memory"
        loop.label(seeds, y[seeds])
        proposal = loop.propose()
        assert not np.isin(proposal.batch_ids, seeds).any()
        subpools[index] = set(proposal.subpool_ids.tolist())
    exact = subpools.pop("exact")
    for got in subpools.values():
        assert len(got & exact) / len(exact) >= 0.97
    # The pool's fingerprint came from the file's manifest: the collection and the cached FAISS
    # index are found again by it, nothing rebuilt.
    again = ActiveLoop(mapped, ["other", "rare"], ["rare"], index="faiss", cache_dir=tmp_path / "cache")
    assert again.pool.embeddings_fingerprint == fingerprint_array(np.asarray(mapped))
    assert list((tmp_path / "cache" / "indexes").glob("*.faiss"))
    with pytest.raises(InputError, match="unknown index"):
        _ = ActiveLoop(mapped, ["other", "rare"], index="annoy").index


def test_a_grpc_failure_is_named_by_its_status_and_details():
    from types import SimpleNamespace

    from anchoral_widget.engine.search.backends.milvus import first_line

    class RpcError(Exception):
        def code(self):
            return SimpleNamespace(name="DEADLINE_EXCEEDED")

        def details(self):
            return "Deadline Exceeded"

    assert first_line(RpcError("<_InactiveRpcError of RPC that terminated with:\n ...")) == (
        "DEADLINE_EXCEEDED: Deadline Exceeded"
    )
    assert first_line(ValueError("first\nsecond")) == "first"
