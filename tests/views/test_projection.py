"""The map's projection: sampling, placement, the on-disk cache and the background fit.

Most tests replace UMAP by a linear projection (``umap_coords`` is the one seam), so that they
run in milliseconds; one slow test fits the real UMAP in its child process."""

import threading
import time

import numpy as np
import pytest
from conftest import fit_child

from anchoral_widget.errors import InputError
from anchoral_widget.views import projection as projection_module
from anchoral_widget.views import umapfit
from anchoral_widget.views.projection import NotReadyError, Projection


def clustered(n_per=200, dim=16, centres=3, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)) * 3
    which = np.repeat(np.arange(centres), n_per)
    X = (c[which] + rng.normal(size=(len(which), dim))).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True), which


class FakeUmap:
    """First two principal directions, with a call counter; optionally waits for a signal."""

    def __init__(self, gate=None, fail=False):
        self.calls, self.gate, self.fail = 0, gate, fail

    def __call__(self, vectors, *, n_neighbors, min_dist, seed, on_epochs=None):
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail:
            raise RuntimeError("boom")
        if on_epochs:
            on_epochs(0, 4)
            on_epochs(2, 4)
        centred = vectors - vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return (centred @ vt[:2].T * 10).astype(np.float32)


@pytest.fixture(autouse=True)
def _cache_folder(tmp_path, monkeypatch):
    """The default cache folder of every test here is a scratch one, never the user's."""
    folder = tmp_path / "default-cache"
    monkeypatch.setenv("ANCHORAL_CACHE", str(folder))
    return folder


@pytest.fixture
def fake(monkeypatch):
    f = FakeUmap()
    monkeypatch.setattr(umapfit, "umap_coords", f)
    return f


def test_two_dimensional_pool_is_its_own_map():
    coords = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    p = Projection(coords)
    assert p.status == "ready"
    assert np.array_equal(p.positions([3, 7, 3]), coords[[3, 7, 3]])
    assert np.array_equal(Projection.from_coords(coords).positions(np.arange(50)), coords)
    with pytest.raises(InputError):
        Projection.from_coords(np.zeros((5, 3)))


def test_positions_before_the_fit_raise(fake):
    X, _ = clustered()
    p = Projection(X, process=False)
    assert p.status == "idle"
    with pytest.raises(NotReadyError):
        p.positions([0])


def test_sample_holds_the_labelled_items_and_the_seeded_rest(fake):
    X, _ = clustered()
    labelled = [5, 17, 599]
    a = Projection(X, sample_size=100, process=False, seed=3).fit(labelled)
    b = Projection(X, sample_size=100, process=False, seed=3).fit(labelled)
    c = Projection(X, sample_size=100, process=False, seed=4).fit(labelled)
    assert len(a.sample_ids_) == 103 and set(labelled) <= set(a.sample_ids_.tolist())
    assert np.array_equal(a.sample_ids_, b.sample_ids_)
    assert not np.array_equal(a.sample_ids_, c.sample_ids_)
    # sample items sit where the fit put them
    assert np.array_equal(a.positions(a.sample_ids_), a.sample_xy_)


def test_items_outside_the_sample_land_among_their_neighbours(fake):
    X, which = clustered(n_per=300)
    p = Projection(X, sample_size=150, process=False).fit()
    outside = np.setdiff1d(np.arange(len(X)), p.sample_ids_)
    xy = p.positions(outside)
    centres = np.array([p.sample_xy_[which[p.sample_ids_] == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == which[outside]).mean() > 0.95
    # an item identical to a sample point lands on it
    source = 11
    twin = np.vstack([X, X[source]])
    q = next(
        q
        for q in (Projection(twin, sample_size=150, process=False, seed=s).fit([source]) for s in range(20))
        if len(X) not in q.sample_ids_.tolist()
    )
    assert np.allclose(q.positions([len(X)])[0], q.positions([source])[0], atol=1e-3)
    # positions are kept: asking again gives the same answer
    assert np.array_equal(p.positions(outside[:10]), xy[:10])


def test_ids_out_of_range(fake):
    X, _ = clustered()
    p = Projection(X, process=False).fit()
    with pytest.raises(InputError):
        p.positions([len(X)])
    with pytest.raises(InputError):
        Projection(X, process=False).fit([len(X) + 3])


def test_background_fit_does_not_block_and_reports_progress(monkeypatch):
    gate = threading.Event()
    fake = FakeUmap(gate=gate)
    monkeypatch.setattr(umapfit, "umap_coords", fake)
    X, _ = clustered()
    p = Projection(X, process=False)
    t = time.perf_counter()
    p.start([1, 2])
    assert time.perf_counter() - t < 1.0
    assert p.status == "fitting" and p.progress()["status"] == "fitting"
    with pytest.raises(NotReadyError):
        p.positions([0])
    p.start()  # a second start while fitting does nothing
    gate.set()
    assert p.wait(10) == "ready"
    progress = p.progress()
    assert progress["fraction"] == 1.0 and progress["error"] is None and progress["elapsed_s"] > 0
    assert fake.calls == 1
    assert p.positions([0]).shape == (1, 2)


def test_a_failed_fit_is_reported(monkeypatch):
    monkeypatch.setattr(umapfit, "umap_coords", FakeUmap(fail=True))
    X, _ = clustered()
    p = Projection(X, process=False).start()
    assert p.wait(10) == "error"
    assert "boom" in p.progress()["error"]
    with pytest.raises(NotReadyError):
        p.positions([0])
    with pytest.raises(RuntimeError, match="boom"):
        Projection(X, process=False).fit()


def test_cache_is_reused(fake, tmp_path):
    X, _ = clustered()
    a = Projection(X, cache_dir=tmp_path, sample_size=80, process=False).fit()
    assert a.cache_path.exists() and fake.calls == 1
    b = Projection(X, cache_dir=tmp_path, sample_size=80, process=False).fit()
    assert fake.calls == 1 and b.from_cache_ and b.progress()["from_cache"]
    assert np.array_equal(a.sample_ids_, b.sample_ids_) and np.array_equal(a.sample_xy_, b.sample_xy_)
    # other settings are another map
    Projection(X, cache_dir=tmp_path, sample_size=81, process=False).fit()
    assert fake.calls == 2
    # another pool is another file
    other = Projection(X[::-1].copy(), cache_dir=tmp_path, sample_size=80, process=False)
    assert other.cache_path != a.cache_path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong-fingerprint", "ids-out-of-range"])
def test_a_damaged_cache_is_refitted_never_used(fake, tmp_path, damage):
    X, _ = clustered()
    a = Projection(X, cache_dir=tmp_path, sample_size=80, process=False).fit()
    path = a.cache_path
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        import json

        with np.load(path) as data:
            settings, ids, coords = json.loads(str(data["settings"])), data["sample_ids"], data["coords"]
        if damage == "wrong-fingerprint":
            settings["fingerprint"] = "0" * 40
        else:
            ids = ids.copy()
            ids[-1] = len(X) + 10
        with open(path, "wb") as fh:
            np.savez(fh, settings=np.array(json.dumps(settings)), sample_ids=ids, coords=coords)
    b = Projection(X, cache_dir=tmp_path, sample_size=80, process=False).fit()
    assert fake.calls == 2 and not b.from_cache_
    assert np.array_equal(b.sample_xy_, a.sample_xy_)
    # the refit wrote a sound cache again
    c = Projection(X, cache_dir=tmp_path, sample_size=80, process=False).fit()
    assert fake.calls == 2 and c.from_cache_
    assert not list(tmp_path.glob("*.tmp*"))


def test_cache_defaults_to_beside_memory_mapped_embeddings(fake, tmp_path):
    X, _ = clustered()
    np.save(tmp_path / "pool.npy", X)
    mapped = np.load(tmp_path / "pool.npy", mmap_mode="r")
    p = Projection(mapped, process=False)
    assert p.cache_dir == tmp_path
    p.fit()
    assert p.cache_path.parent == tmp_path and p.cache_path.exists()
    assert Projection(X, process=False, cache_dir=False).cache_path is None


def test_embeddings_in_memory_are_cached_in_the_default_folder(fake, _cache_folder):
    """A notebook that holds its embeddings in memory fits the map once: the next run (the
    same embeddings, another array) reads it, keyed by their fingerprint."""
    X, _ = clustered()
    a = Projection(X, sample_size=80, process=False).fit()
    assert a.cache_dir == _cache_folder and a.cache_path.exists() and fake.calls == 1
    assert "fitted on" in a.describe() and str(_cache_folder) in a.describe()
    b = Projection(X.copy(), sample_size=80, process=False).fit()
    assert fake.calls == 1 and b.from_cache_ and np.array_equal(b.sample_xy_, a.sample_xy_)
    assert b.describe().startswith("map: read from the cache")
    # a given fingerprint (the pool's, say) is the key, and is asked for only once needed
    asked = []
    c = Projection(X, sample_size=80, process=False, fingerprint=lambda: asked.append(1) or a.fingerprint)
    assert asked == []
    assert c.fit().from_cache_ and asked == [1] and fake.calls == 1
    # other embeddings, another key; and no cache at all when asked
    assert Projection(X[::-1].copy(), sample_size=80).cache_path != a.cache_path
    none = Projection(X, sample_size=80, process=False, cache_dir=False).fit()
    assert none.cache_path is None and fake.calls == 2 and not none.from_cache_
    with pytest.raises(InputError, match="cache_dir"):
        Projection(X, cache_dir=True)


def test_describe_says_where_the_map_stands(fake):
    X, _ = clustered()
    p = Projection(X, sample_size=80, process=False)
    assert p.describe().startswith("map: not fitted yet")
    p.fit()
    assert p.describe().startswith("map: UMAP fitted on ") and "{" not in p.describe()
    assert Projection.from_coords(np.zeros((5, 2))).describe() == "map: the pool's own 2-d coordinates"


@pytest.mark.slow
def test_real_umap_in_a_child_process_separates_clusters():
    X, which = clustered(n_per=300, dim=32)
    p = Projection(X, sample_size=600, seed=0).start([0, 1])
    assert p.status == "fitting"
    assert p.wait(300) == "ready", p.progress()
    xy = p.positions(np.arange(len(X)))
    centres = np.array([xy[which == k].mean(axis=0) for k in range(3)])
    spread = max(np.linalg.norm(xy[which == k] - centres[k], axis=1).mean() for k in range(3))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread


def test_fit_during_a_background_fit_waits_for_it(monkeypatch):
    gate = threading.Event()
    fake = FakeUmap(gate=gate)
    monkeypatch.setattr(umapfit, "umap_coords", fake)
    X, _ = clustered()
    p = Projection(X, process=False).start()
    threading.Timer(0.2, gate.set).start()
    assert p.fit() is p and p.ready
    assert fake.calls == 1  # no second fit


def test_a_failing_child_process_is_reported_not_waited_on():
    from anchoral_widget.errors import AnchorALError

    t = time.perf_counter()
    with pytest.raises(AnchorALError, match="(?s)child process.*unexpected keyword"):
        umapfit.fit_in_child(np.zeros((10, 4), np.float32), {"no_such_parameter": 1}, lambda n, t: None)
    assert time.perf_counter() - t < 60


def test_an_unwritable_cache_warns_and_the_map_still_works(fake, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    X, _ = clustered()
    with pytest.warns(UserWarning, match="could not cache the map"):
        p = Projection(X, cache_dir=blocker, process=False).fit()
    assert p.ready and p.positions([0]).shape == (1, 2)


def test_a_cancelled_fit_leaves_no_process_behind(tmp_path):
    X = np.random.default_rng(0).normal(size=(400, 8)).astype(np.float32)
    projection = Projection(X, cache_dir=tmp_path, sample_size=400, seed=0)
    projection.start()
    child = fit_child(projection)
    assert child is not None, "the fit started its child process"
    projection.cancel()
    assert projection.wait(30) == "idle" and projection.error is None
    assert child.poll() is not None, "the child process is gone"
    assert not list(tmp_path.glob("projection-*")), "nothing half-done was cached"


def test_place_all_gives_the_whole_pool_a_position_during_the_fit(fake, tmp_path, monkeypatch):
    X, which = clustered(n_per=300)
    monkeypatch.setattr(projection_module, "BULK_CHUNK", 100)  # several chunks
    p = Projection(X, cache_dir=tmp_path, sample_size=150, process=False, place_all=True).fit()
    xy = p.pool_xy
    assert xy.shape == (len(X), 2) and np.isfinite(xy).all() and not xy.flags.writeable
    assert p.place_seconds_ is not None and p.place_seconds_ > 0
    assert np.array_equal(xy[p.sample_ids_], p.sample_xy_)
    # placed among their own cluster's sample points, as one at a time would place them
    centres = np.array([p.sample_xy_[which[p.sample_ids_] == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == which).mean() > 0.95
    # the same array each time (a map update compares it by identity, not row by row)
    assert p.pool_xy is xy and np.array_equal(p.pool_ids, np.arange(len(X)))
    # the placement is cached with the fit: the next session reads it and places nothing
    q = Projection(X, cache_dir=tmp_path, sample_size=150, process=False, place_all=True).fit()
    assert fake.calls == 1 and q.from_cache_ and q.place_seconds_ == 0.0
    assert np.array_equal(q.pool_xy, xy)


def test_without_place_all_the_pool_is_placed_when_first_asked_for(fake):
    X, _ = clustered()
    p = Projection(X, sample_size=100, process=False).fit()
    assert p.place_seconds_ is None
    assert np.isfinite(p.pool_xy).all()
    with pytest.raises(NotReadyError):
        _ = Projection(X, process=False).pool_xy


def test_a_cancelled_placement_leaves_the_map_idle(fake, monkeypatch):
    X, _ = clustered(n_per=300)
    monkeypatch.setattr(projection_module, "BULK_CHUNK", 50)
    p = Projection(X, sample_size=100, process=False, place_all=True, cache_dir=False)
    original = p._place

    def place_then_cancel(ids):
        p.cancel()  # the widget closed while the pool was being placed
        return original(ids)

    p._place = place_then_cancel
    p.start()
    assert p.wait(10) == "idle" and p.error is None and not p.ready
