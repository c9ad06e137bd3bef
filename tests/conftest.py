import os

import numpy as np
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI nothing may be skipped for a missing tool: a skip there is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where torch sees a GPU; elsewhere they are deselected, not
    skipped (a skip fails in CI, which has no GPU)."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    config.hook.pytest_deselected(items=gpu)
    items[:] = [item for item in items if not item.get_closest_marker("gpu")]


@pytest.fixture(autouse=True)
def _scratch_working_folder(tmp_path, monkeypatch):
    """Run every test in a scratch folder: whatever a test writes next to itself (a widget's
    default label store, say) stays out of the source tree."""
    monkeypatch.chdir(tmp_path)


def fit_child(projection, timeout=30.0):
    """The child process a projection's background fit runs in, once it has started."""
    import time

    deadline = time.monotonic() + timeout
    while getattr(projection, "_child", None) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return projection._child


def clustered_pool(n=2000, d=16, clusters=20, rare_clusters=(0,), seed=0, noise=0.25):
    """Unit vectors around random centres; items of ``rare_clusters`` are the class "rare"."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    # Rare clusters are small: about 1 item in 50 each.
    weights = np.ones(clusters)
    weights[list(rare_clusters)] = (clusters - len(rare_clusters)) / 50
    cluster = rng.choice(clusters, size=n, p=weights / weights.sum())
    X = centres[cluster] + noise * rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.where(np.isin(cluster, rare_clusters), "rare", "other")
    return X.astype(np.float32), y, cluster


@pytest.fixture
def pool():
    return clustered_pool()


@pytest.fixture
def held_index_build(monkeypatch):
    """Index builds (anything but exact search) wait for ``gate``; ``building`` is set once one
    has started. Returns ``(gate, building)``."""
    import threading

    from anchoral_widget.engine.pool import Pool

    gate, building = threading.Event(), threading.Event()
    real = Pool._make_index

    def slow(self, spec, **params):
        if spec != "exact":
            building.set()
            assert gate.wait(30)
        return real(self, spec, **params)

    monkeypatch.setattr(Pool, "_make_index", slow)
    return gate, building


class Counting:
    """A fitted model that counts the inputs it scores."""

    def __init__(self):
        self.scored = []

    def predict_proba(self, X):
        self.scored.extend(X)
        return np.array([[len(x) % 2, 1 - len(x) % 2] for x in X], dtype=float)

    def represent(self, X):
        self.scored.extend(X)
        return np.array([[len(x), 1.0] for x in X], dtype=np.float32)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session's tests (see postgres_server.py); it fails, never
    skips, where the server's binaries are missing."""
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, tmp_path):
    """``store_at(name)``: where a test keeps a label store, once as a SQLite file and once as a
    database of its own on the PostgreSQL server. The same name gives the same store."""
    if request.param == "sqlite":
        return lambda name="labels.db": tmp_path / name
    server = request.getfixturevalue("postgres")
    made: dict[str, str] = {}

    def at(name="labels.db"):
        if name not in made:
            made[name] = server.new_database()
        return made[name]

    return at


def rare_class_loop(n=4000, budget=100, seed=0, noise=0.25, **kw):
    """A loop on a clustered pool with a rare class (two small clusters), 3 rare and 17 other
    labels, ``budget`` labels by its own proposals, and a model from one more proposal: what a
    check sample is drawn with. Returns ``(loop, y)``."""
    from anchoral_widget.engine.loop.active import ActiveLoop

    X, y, _ = clustered_pool(n=n, d=32, rare_clusters=(0, 1), seed=seed, noise=noise)
    loop = ActiveLoop(X, classes=["other", "rare"], minority=["rare"], index="exact", seed=seed, **kw)
    rng = np.random.default_rng(seed)
    seeds = np.r_[
        rng.choice(np.flatnonzero(y == "rare"), 3, replace=False),
        rng.choice(np.flatnonzero(y == "other"), 17, replace=False),
    ]
    loop.label(seeds, y[seeds])
    if budget:
        loop.simulate(y, budget)
    loop.propose()
    return loop, y
