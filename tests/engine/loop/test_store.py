import sqlite3

import numpy as np
import pytest
from postgres_server import free_port

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.store import LabelStore
from anchoral_widget.engine.vectors.fingerprint import fingerprint_array
from anchoral_widget.errors import InputError, StoreUnavailableError


def make(X, path, **kw):
    defaults = dict(
        classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=200, index="exact", seed=0
    )
    defaults.update(kw)
    return ActiveLoop(X, store=path, **defaults)


def work(loop, y, batches=3):
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:20]]
    loop.label(init, y[init])
    for _ in range(batches):
        p = loop.propose()
        loop.skip(p.batch_ids[:1])
        loop.label(p.batch_ids[1:], y[p.batch_ids[1:]])


def snapshot(loop):
    return (
        loop.labels,
        loop.skipped_ids.tolist(),
        [(r.iteration, r.batch_ids, r.skipped_ids, r.anchor_ids, r.subpool_ids) for r in loop.history],
        None if loop.pending is None else loop.pending.batch_ids.tolist(),
    )


def test_reopening_resumes_exactly(store_at, pool):
    X, y, _ = pool
    path = store_at()
    loop = make(X, path)
    work(loop, y)
    pending = loop.propose()
    loop.label(pending.batch_ids[:3], y[pending.batch_ids[:3]])  # half a batch
    before = snapshot(loop)
    loop.store.close()

    resumed = make(X, path)
    assert snapshot(resumed) == before
    assert resumed.propose().batch_ids.tolist() == pending.batch_ids.tolist()
    # The next proposals agree too.
    for other in (loop, resumed):
        other.store = None  # keep the file as it is
    for other in (loop, resumed):
        p = other.propose()
        other.label(p.unanswered(other.excluded), y[p.unanswered(other.excluded)])
    assert np.array_equal(loop.propose().batch_ids, resumed.propose().batch_ids)


def test_undo_is_logged_and_replayed(store_at, pool):
    X, y, _ = pool
    path = store_at()
    loop = make(X, path)
    work(loop, y, batches=2)
    loop.undo()
    loop.undo()
    before = snapshot(loop)
    assert make(X, path).labels == before[0] and snapshot(make(X, path)) == before
    kinds = [kind for kind, _ in LabelStore(path, fingerprint=fingerprint_array(X), classes=["other", "rare"]).log()]
    assert kinds.count("undo") == 2, "an undo is a row of its own: nothing is deleted"


def test_a_store_from_another_pool_or_classes_is_refused(store_at, pool):
    X, y, _ = pool
    path = store_at()
    work(make(X, path), y, batches=1)
    with pytest.raises(InputError, match="another pool"):
        make(X[:-1], path)
    with pytest.raises(InputError, match="classes"):
        make(X, path, classes=["other", "eye"], minority=["eye"])
    with pytest.warns(UserWarning, match="configuration changed"):
        resumed = make(X, path, strategy="margin")
    assert len(resumed.labels) == 23 + 9


def test_corrupt_or_truncated_store_is_refused(tmp_path, pool):
    X, y, _ = pool
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a usable label store"):
        make(X, garbage)
    path = tmp_path / "labels.db"
    loop = make(X, path)
    work(loop, y, batches=1)
    loop.store.close()
    data = path.read_bytes()
    truncated = tmp_path / "truncated.db"
    # Checkpointed into the main file by close(); cut it in the middle of the pages.
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        make(X, truncated)


def test_each_label_is_committed_before_label_returns(store_at, pool):
    X, y, _ = pool
    path = store_at()
    loop = make(X, path)
    loop.label([5, 6], [y[5], y[6]])
    # Another connection sees the row at once: it is committed, not buffered.
    if isinstance(path, str):
        import psycopg

        with psycopg.connect(path) as other:
            rows = other.execute("SELECT kind, payload, annotator FROM log").fetchall()
    else:
        rows = sqlite3.connect(path).execute("SELECT kind, payload, annotator FROM log").fetchall()
    assert [r[0] for r in rows] == ["label"] and '"ids": [5, 6]' in rows[0][1]
    assert rows[0][2] == loop.annotator


def test_a_failed_write_changes_nothing(tmp_path, pool):
    X, y, _ = pool
    loop = make(X, tmp_path / "labels.db")
    loop.store.close()  # the disk went away
    with pytest.raises(sqlite3.ProgrammingError):
        loop.label([5], [y[5]])
    assert loop.labels == {}


def test_a_server_that_is_down_is_a_clear_error_and_changes_nothing(postgres, pool):
    X, y, _ = pool
    url = postgres.new_database()
    loop = make(X, url)
    loop.label([5], [y[5]])
    backend = loop.store._backend
    backend.url, backend.retry_seconds = f"postgresql://postgres@127.0.0.1:{free_port()}/x", 0.5  # nobody there
    backend.close()
    with pytest.raises(StoreUnavailableError, match="cannot be reached.*nothing was written"):
        loop.label([6], [y[6]])
    assert loop.labels == {5: y[5]}
    backend.url = url  # back: the next call goes through
    loop.label([6], [y[6]])
    assert make(X, url).labels == {5: y[5], 6: y[6]}


def test_a_wrong_url_is_a_clear_error(pool):
    X, _, _ = pool
    with pytest.raises(StoreUnavailableError, match="cannot reach the label store at postgresql://"):
        make(X, f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
