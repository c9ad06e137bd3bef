"""The encoder upgrade: a session starts on its first embeddings, a better encoder encodes the pool
behind it, and the loop moves to the new embeddings between two batches without losing a label, a
draft, the history or the store; a restart starts on the upgraded embeddings; a failing upgrade
leaves the session as it was, and says so."""

import threading
import time

import numpy as np
import pytest
from conftest import clustered_pool
from encode_child import HashModel, fake_encoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.switch import switch_loop
from anchoral_widget.engine.pool import Pool, PoolSwapped
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.errors import InputError
from anchoral_widget.session.progress import Progress
from anchoral_widget.session.startup import start_session
from anchoral_widget.session.upgrade import Upgrade, UpgradeStopped
from anchoral_widget.session.upgrade_plan import embeddings_name, plan_upgrade

N = 120
TEXTS = [f"{'eye' if i % 12 == 0 else 'other'} text number {i}" for i in range(N)]
SEEDS = {0: "eye", 12: "eye", 1: "other", 2: "other"}
SMALL = dict(batch_size=5, subpool_size=40, neighbours=10, map=False)
WIDE = 24


class Wider(HashModel):
    """A second stand-in encoder: other vectors, of another width."""

    dim = WIDE

    def encode(self, texts, **kw):
        narrow = super().encode(texts, **kw)
        out = np.hstack([narrow[:, ::-1], narrow[:, : WIDE - narrow.shape[1]] ** 2])
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def encoders(tmp_path, better_model):
    first = fake_encoder(tmp_path / "fast", tmp_path / "cache", HashModel())
    better = fake_encoder(tmp_path / "better", tmp_path / "cache", better_model)
    return first, better


def upgrade_of(session):
    return session._startup.plan.upgrade


def wait_until(condition, timeout=30.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def answer_all(session, label="other"):
    s = session.snapshot()
    session.handle({"kind": "rest", "label": label, "iteration": s["iteration"]})
    session.handle({"kind": "submit", "iteration": s["iteration"]})
    assert session.wait(30)


# ---- in a session ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lands", "training"),
    [
        ("before the first batch", "strict"),
        ("with drafts on screen", "strict"),
        ("with drafts on screen", "ahead"),
        ("between a submit and the next batch", "strict"),
    ],
)
def test_the_switch_lands_between_batches_with_labels_drafts_history_and_store_intact(tmp_path, lands, training):
    gate = threading.Event()
    first, better = encoders(tmp_path, Wider(gate=gate))
    store = tmp_path / "labels.db"
    if lands == "before the first batch":
        gate.set()
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels=SEEDS, store=store,
        training=training, **SMALL,
    )  # fmt: skip
    session.start()
    assert session.wait(30)
    upgrade = upgrade_of(session)
    if lands == "before the first batch":
        wait_until(lambda: upgrade.done)
    else:
        s = session.snapshot()
        assert s["status"].endswith("· fast embeddings; better 0% encoded")
        assert s["startup"]["stage"] == "upgrade" and s["startup"]["embeddings"] == "fast"
        assert s["startup"]["text"] == "fast embeddings; loading better to encode 120 texts in the background"
        answer_all(session)  # one batch on the first embeddings
        assert session.loop.embeddings.shape[1] == 16
    s = session.snapshot()
    ids = [card["id"] for card in s["batch"]]
    session.handle({"kind": "label", "ids": ids[:2], "label": "eye", "iteration": s["iteration"]})
    drafts = session.snapshot()["answers"]
    if lands == "between a submit and the next batch":
        session.handle({"kind": "rest", "label": "other", "iteration": s["iteration"]})
        session.handle({"kind": "submit", "iteration": s["iteration"]})
        gate.set()
    else:
        gate.set()
        wait_until(lambda: upgrade.done)
        after = session.snapshot()
        assert after["answers"] == drafts and [c["id"] for c in after["batch"]] == ids, "the batch and drafts stay"
        answer_all(session)
    wait_until(lambda: upgrade.done)
    answer_all(session)  # a batch proposed on the new embeddings
    s = session.snapshot()
    assert session.loop.embeddings.shape[1] == WIDE and s["phase"] == "ready"
    assert s["status"].endswith("· better embeddings") and s["startup"]["embeddings"] == "better"
    assert s["startup"]["text"] == "better embeddings"
    labels = session.labels.set_index("id").label.to_dict()
    assert {i: labels[i] for i in SEEDS} == SEEDS and labels[ids[0]] == labels[ids[1]] == "eye"
    assert len(labels) == len(SEEDS) + 5 * (len(session.loop.history))
    history = [(r.iteration, r.batch_ids) for r in session.loop.history]
    pending = session.loop.pending.batch_ids.tolist()
    session.search("eye text")  # the query goes through the new encoder: it matches the pool's width
    assert session.wait(30) and len(session.snapshot()["search"]["results"]) == 20
    session.close(wait=True)
    session.loop.store.close()

    # a restart: the upgraded embeddings are cached whole, so it starts on them, with the same store
    model = Wider()
    first, better = encoders(tmp_path, model)
    again = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, store=store, training=training, **SMALL
    )
    again.start()
    assert again.wait(30)
    assert model.calls == 0 and again.loop.embeddings.shape[1] == WIDE and again.loop.store.path == store
    assert again.labels.set_index("id").label.to_dict() == labels
    assert [(r.iteration, r.batch_ids) for r in again.loop.history] == history
    assert [c["id"] for c in again.snapshot()["batch"]] == pending
    assert again.snapshot()["status"].endswith("· better embeddings")
    again.close(wait=True)


def test_an_upgrade_that_fails_half_way_leaves_the_session_on_its_embeddings_and_a_restart_resumes(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(Upgrade, "neighbours", 0)  # the whole pool's encode alone: its calls are counted
    model = Wider(fail_at=4)  # three chunks of 8 texts cached, then it raises
    first, better = encoders(tmp_path, model)
    store = tmp_path / "labels.db"
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels=SEEDS, store=store, **SMALL
    )
    session.start()
    wait_until(lambda: upgrade_of(session).failed)
    assert session.wait(30)
    s = session.snapshot()
    assert (
        "the upgrade to better embeddings failed (RuntimeError: the encoder ran out of memory); the session "
        "stays on fast embeddings; what it encoded is cached: a restart goes on from there" in s["error"]
    )
    assert s["status"].endswith("· fast embeddings (the upgrade to better failed)")
    assert s["startup"]["stage"] == "ready" and s["startup"]["text"] == "fast embeddings"
    answer_all(session)  # the session goes on, on its first embeddings
    assert session.loop.embeddings.shape[1] == 16 and session.snapshot()["phase"] == "ready"
    labels = session.labels.set_index("id").label.to_dict()
    session.close(wait=True)
    session.loop.store.close()

    model = Wider()
    first, better = encoders(tmp_path, model)
    again = start_session(TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, store=store, **SMALL)
    again.start()
    assert again.wait(30)
    wait_until(lambda: upgrade_of(again).done)
    assert model.calls == (N - 24 + 7) // 8, "the upgrade went on from its cached chunks"
    assert again.labels.set_index("id").label.to_dict() == labels
    answer_all(again)
    assert again.loop.embeddings.shape[1] == WIDE
    again.close(wait=True)


def test_no_upgrade_when_turned_off_or_for_an_encoder_of_ones_own(tmp_path):
    first, _ = encoders(tmp_path, Wider())
    session = start_session(TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=None, store=None, **SMALL)
    session.start()
    assert session.wait(30)
    s = session.snapshot()
    assert upgrade_of(session) is None and "embeddings" not in s["status"] and s["startup"]["embeddings"] is None
    session.close(wait=True)
    # "auto": an encoder of one's own is kept; the bundled fast one upgrades to MiniLM (nothing loads yet)
    assert plan_upgrade("auto", first, encodes_pool=True) is None
    from anchoral_widget.session.encoding import session_encoder

    upgrade = plan_upgrade("auto", session_encoder("fast"), encodes_pool=True)
    assert upgrade.spec.name == "onnx" and upgrade.threads == 1 and embeddings_name(upgrade) == "MiniLM"
    assert plan_upgrade("auto", session_encoder("fast"), encodes_pool=False) is None
    assert plan_upgrade("onnx", session_encoder("onnx"), encodes_pool=True) is None, "the same vectors"
    with pytest.raises(InputError, match="upgrade= re-encodes the pool"):
        start_session(TEXTS, ["other", "eye"], embeddings=HashModel().encode(TEXTS), upgrade="onnx", **SMALL)
    from anchoral_widget.session.startup import build_session

    with pytest.raises(TypeError, match="upgrade= encodes in the background"):
        build_session(TEXTS, ["other", "eye"], encoder=first, upgrade="onnx", **SMALL)


def test_the_upgrade_waits_while_a_batch_is_proposed_and_stops_once_the_session_closes(tmp_path):
    model = Wider()
    _, better = encoders(tmp_path, model)
    upgrade, proposing, told, out = Upgrade(better), threading.Event(), [], []
    proposing.set()
    thread = threading.Thread(
        target=lambda: out.append(upgrade.encode(TEXTS, lambda d, t: told.append(d), busy=proposing.is_set))
    )
    thread.start()
    time.sleep(0.3)
    assert model.calls == 0 and told == [], "nothing encoded while a batch is proposed"
    proposing.clear()
    thread.join(30)
    assert out[0].shape == (N, WIDE) and told[-1] == N

    model = Wider()
    _, better = encoders(tmp_path / "again", model)
    closed = threading.Event()
    with pytest.raises(UpgradeStopped):
        Upgrade(better).encode(TEXTS, lambda d, t: closed.set() if d >= 16 else None, closed=closed.is_set)
    assert model.calls == 3, "the pass under way when it closed ends, then it stops"


def test_the_upgrade_progress_names_the_embeddings_serving_the_batch_and_the_time_left():
    now, shown = [0.0], []
    progress = Progress(shown.append, clock=lambda: now[0])
    progress.embeddings, progress.upgrading = "fast", "MiniLM"
    progress("upgrade", None, 58_000)
    assert shown[-1]["text"] == "fast embeddings; loading MiniLM to encode 58,000 texts in the background"
    progress("upgrade", 0, 58_000)
    now[0] += 40.0
    progress("upgrade", 12_000, 58_000)
    assert shown[-1]["text"] == (
        "fast embeddings; MiniLM encoding 12,000 / 58,000 in the background · 300 texts/s · 2 min 33 s left"
    )
    assert shown[-1]["embeddings"] == "fast" and shown[-1]["stage"] == "upgrade"
    progress.embeddings = "MiniLM"
    progress("ready", None, None)
    assert shown[-1]["text"] == "MiniLM embeddings" and shown[-1]["seconds"]["upgrade"] == 40.0


# ---- the engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_encodings():
    X, y, _ = clustered_pool(n=600, seed=3)
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.normal(size=(X.shape[1] + 8, X.shape[1] + 8)))[0][:, : X.shape[1]]
    wide = (X @ Q.T + 0.05 * rng.normal(size=(len(X), X.shape[1] + 8))).astype(np.float32)
    wide /= np.linalg.norm(wide, axis=1, keepdims=True)
    return X, wide, np.asarray(y, dtype=object)


def test_a_swapped_pool_keeps_its_identity_and_searches_the_new_embeddings(two_encodings):
    X, wide, _ = two_encodings
    pool = Pool(X, [f"t{i}" for i in range(len(X))])
    identity, old_index = pool.fingerprint, pool.index
    pool.swap(wide)
    assert pool.fingerprint == identity and pool.identities[0] == identity
    assert pool.index is not old_index and isinstance(pool.index, ExactIndex) and pool.dim == wide.shape[1]
    ids, _ = pool.index.query(wide[:1], 5)
    assert ids[0, 0] == 0 and set(ids[0].tolist()) == set(np.argsort(-(wide @ wide[0]))[:5].tolist())
    with pytest.raises(InputError, match="599 rows but the pool has 600"):
        pool.swap(wide[1:])


def test_an_index_built_over_the_old_embeddings_is_dropped(two_encodings, held_index_build):
    X, wide, _ = two_encodings
    pool = Pool(X, index="hnsw")
    gate, building = held_index_build
    done = []
    thread = pool.start_index_build(done.append)
    assert building.wait(10)
    pool.swap(wide)
    gate.set()
    thread.join(60)
    assert isinstance(done[0], PoolSwapped) and not pool.index_ready
    assert pool.index.dim == wide.shape[1]


def _loop(X, y, store, **kw):
    return ActiveLoop(
        X, ["other", "rare"], ["rare"], batch_size=10, subpool_size=100, neighbours=20, store=store, seed=1, **kw
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(switch_at=st.integers(0, 3), mid_batch=st.booleans(), undo=st.booleans())
def test_a_loop_switched_at_any_point_keeps_its_labels_history_and_store(
    two_encodings, tmp_path_factory, switch_at, mid_batch, undo
):
    X, wide, y = two_encodings
    texts = [f"t{i}" for i in range(len(X))]
    test = (X[:50], y[:50])
    path = tmp_path_factory.mktemp("store") / "labels.db"
    loop = _loop(Pool(X, texts), y, path, test=test)
    identity = loop.pool.fingerprint
    seeds = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:7]]
    loop.label(seeds, y[seeds])
    given = dict(zip(seeds.tolist(), y[seeds].tolist()))
    for iteration in range(4):
        if iteration == switch_at and not mid_batch:
            switch_loop(loop, wide, wide[:50])
        batch = loop.propose().batch_ids
        loop.label(batch[:4], y[batch[:4]])
        if iteration == switch_at and mid_batch:  # the batch proposed on the old embeddings stays
            switch_loop(loop, wide, wide[:50])
            assert loop.propose().batch_ids.tolist() == batch.tolist()
        if undo:
            loop.undo()
            loop.label(batch[:4], y[batch[:4]])
        loop.label(batch[4:], y[batch[4:]])
        given.update(zip(batch.tolist(), y[batch].tolist()))
    assert loop.embeddings.shape[1] == wide.shape[1] and loop.test[0].shape[1] == wide.shape[1]
    assert loop.labels == given and len(loop.history) == 4
    loop.propose()
    history, pending = [(r.iteration, r.batch_ids, r.subpool_ids) for r in loop.history], loop.pending
    assert loop.pool.fingerprint == identity
    loop.store.close()
    # reopened on either embeddings, under the pool's first identity: the same state
    for embeddings in (X, wide):
        again = _loop(Pool(embeddings, texts, fingerprint=identity), y, path)
        assert again.labels == given
        assert [(r.iteration, r.batch_ids, r.subpool_ids) for r in again.history] == history
        assert again.pending.batch_ids.tolist() == pending.batch_ids.tolist()
        again.store.close()


def test_a_held_out_set_of_embeddings_must_come_from_the_new_encoder(two_encodings):
    X, wide, y = two_encodings
    loop = _loop(X, y, None, test=(X[:50], y[:50]))
    with pytest.raises(InputError, match="pass test_embeddings"):
        switch_loop(loop, wide)
    with pytest.raises(InputError, match=r"test_embeddings must have shape \(50, 24\)"):
        switch_loop(loop, wide, X[:50])
    assert loop.embeddings.shape[1] == X.shape[1], "nothing changed"


# ---- the labels' neighbourhoods first ----------------------------------------------------------


class SlowLastChunk(Wider):
    """The better encoder, held at the pool's last chunk until ``gate`` opens (or failing there):
    the whole pool's encode cannot end before the test has looked at the loop on the labels'
    neighbourhoods."""

    def __init__(self, gate, fail=False, delay=0.0):
        super().__init__(delay=delay)
        self.last, self.held, self.fail = set(TEXTS[-8:]), gate, fail

    def encode(self, texts, **kw):
        if set(texts) == self.last:
            assert self.held.wait(30), "the test never opened the gate"
            if self.fail:
                raise RuntimeError("the encoder ran out of memory")
        return super().encode(texts, **kw)


def test_the_loop_moves_to_the_labels_neighbourhoods_before_the_whole_pool_is_encoded(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    gate = threading.Event()
    first, better = encoders(tmp_path, SlowLastChunk(gate))
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels=SEEDS, store=tmp_path / "l.db",
        **SMALL,
    )  # fmt: skip
    session.start()
    upgrade = upgrade_of(session)
    try:
        # the whole pool's encode waits at its last chunk (8 of 120 texts)
        wait_until(lambda: upgrade.early and session.snapshot()["status"].endswith("pool 93% encoded"))
        assert session.wait(30)
        missing = session.loop.pool.missing
        assert missing is not None and not upgrade.done
        assert not missing[list(SEEDS)].any(), "every label's item is encoded before the loop moves"
        s = session.snapshot()
        encoded = int((~missing).sum())
        assert s["status"].endswith(
            f"· better embeddings on {encoded:,} texts near the labels; the whole pool 93% encoded"
        )
        assert s["startup"]["stage"] == "upgrade" and s["startup"]["embeddings"] == "better"
        answer_all(session)  # proposed before the move
        for _ in range(2):  # batches proposed on what is encoded only
            s = session.snapshot()
            batch = [card["id"] for card in s["batch"]]
            assert batch and not session.loop.pool.missing[batch].any()
            assert session.loop.embeddings.shape[1] == WIDE
            answer_all(session)
        session.search("eye text")  # on the first embeddings, which hold the whole pool, with their encoder
        assert session.wait(30) and len(session.snapshot()["search"]["results"]) == 20
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    assert session.wait(30) and session.loop.pool.missing is None
    assert session.snapshot()["status"].endswith("· better embeddings")
    labels = session.labels.set_index("id").label.to_dict()
    assert {i: labels[i] for i in SEEDS} == SEEDS and len(labels) == len(SEEDS) + 3 * SMALL["batch_size"]
    session.close(wait=True)


def test_the_neighbourhoods_come_labels_first_then_minority_neighbours_then_the_rest():
    from anchoral_widget.session.neighbourhoods import Neighbourhoods

    X, _, _ = clustered_pool(n=300, d=8, seed=3)
    index = ExactIndex(X)
    near = Neighbourhoods(X, index, neighbours=4)
    assert near.add({10: "other", 20: "eye"}, ["eye"]) == 2 and near.urgent
    around = {i: set(index.query(X[[i]], 4)[0][0].tolist()) for i in (10, 20, 30)}
    order = near.take(1000)
    assert order[:2] == [20, 10], "the labelled items, minority first"
    assert set(order[2:5]) == around[20] - {20, 10}, "then the minority label's neighbours"
    assert set(order[5:]) == around[10] - around[20] - {10, 20}
    near.done(order[:3])
    assert near.add({10: "other", 20: "eye"}, ["eye"]) == 0, "a label is looked around once"
    near.add({10: "other", 20: "eye", 30: "other"}, ["eye"])
    again = near.take(1000)
    assert again[0] == 30 and set(again[1:]) >= around[30] - {30} - set(order[:3]), "a new label goes first"
    assert not set(again) & set(order[:3]), "nothing is encoded twice"


def test_a_pool_arriving_in_parts_reads_only_the_rows_it_has():
    X, y, _ = clustered_pool(n=200, d=8, seed=4)
    loop = ActiveLoop(X, classes=["other", "rare"], minority=["rare"], batch_size=5, subpool_size=30, neighbours=10)
    rare, other = np.flatnonzero(y == "rare"), np.flatnonzero(y == "other")
    seeds = [int(rare[0]), int(other[0]), int(rare[1]), int(other[1]), int(other[-1])]
    loop.label(seeds, y[seeds])
    new = (X[:, ::-1] * np.linspace(1, 2, 8)).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    missing = np.arange(len(X)) >= 120
    missing[seeds[:4]] = False
    assert seeds[4] >= 120 and missing[seeds[4]]
    switch_loop(loop, new.copy(), missing=missing)
    assert loop.pool.missing is not None and loop.pool.missing[seeds[4]]
    assert seeds[4] not in loop.labelled_in_id_order()[0].tolist(), "a label counts once its vector is in"
    proposal = loop.propose()
    assert not missing[proposal.subpool_ids].any() and not missing[proposal.batch_ids].any()
    ids, _ = loop.index.query(new[:1], 200)
    found = ids[ids >= 0]
    assert sorted(found.tolist()) == np.flatnonzero(~missing).tolist(), "the index answers with the rows that are in"
    loop.pool.fill(np.arange(120, 200), new[120:200])
    assert loop.pool.missing is None, "whole once every row is in"
    assert np.allclose(loop.embeddings, new) and seeds[4] in loop.labelled_in_id_order()[0].tolist()
    with pytest.raises(InputError, match="whole"):
        loop.pool.fill([0], new[:1])


def test_a_pool_arriving_in_parts_refuses_what_it_cannot_fill_in_place():
    X, _, _ = clustered_pool(n=50, d=8, seed=5)
    pool = Pool(X)
    with pytest.raises(InputError, match="writable float32"):
        pool.swap(X.astype(np.float64), missing=np.ones(50, dtype=bool))
    with pytest.raises(InputError, match="boolean mask of 50 rows"):
        pool.swap(X.copy(), missing=np.ones(49, dtype=bool))
    pool.swap(X.copy(), missing=np.arange(50) >= 10)
    with pytest.raises(InputError, match="one 8-d vector per id"):
        pool.fill([10, 11], X[:1])
    with pytest.raises(InputError, match="rows of the pool"):
        pool.fill([50], X[:1])


def test_an_upgrade_that_fails_after_the_move_puts_the_loop_back_on_its_first_embeddings(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    gate = threading.Event()
    first, better = encoders(tmp_path, SlowLastChunk(gate, fail=True))
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels=SEEDS, store=tmp_path / "l.db",
        **SMALL,
    )  # fmt: skip
    session.start()
    upgrade = upgrade_of(session)
    wait_until(lambda: upgrade.early and session.snapshot()["status"].endswith("pool 93% encoded"))
    assert session.wait(30) and session.loop.pool.missing is not None
    answer_all(session)  # a batch labelled on the labels' neighbourhoods
    gate.set()  # the whole pool's encode fails at its last chunk
    wait_until(lambda: upgrade.failed)
    assert session.wait(30)
    s = session.snapshot()
    assert "stays on fast embeddings" in s["error"] and s["status"].endswith(
        "· fast embeddings (the upgrade to better failed)"
    )
    assert session.loop.pool.missing is None and session.loop.embeddings.shape[1] == 16
    wait_until(lambda: session.snapshot()["startup"]["embeddings"] == "fast")
    assert session.snapshot()["startup"]["stage"] == "ready"
    answer_all(session)  # on the first embeddings again, searched whole
    session.search("eye text")
    assert session.wait(30) and len(session.snapshot()["search"]["results"]) == 20
    labels = session.labels.set_index("id").label.to_dict()
    assert {i: labels[i] for i in SEEDS} == SEEDS and len(labels) == len(SEEDS) + 2 * SMALL["batch_size"]
    session.close(wait=True)


def test_a_process_that_exits_while_the_upgrade_encodes_exits_cleanly(tmp_path):
    """onnxruntime aborts a process torn down while one of its threads is inside a run."""
    import subprocess
    import sys
    from pathlib import Path

    child = Path(__file__).with_name("upgrade_exit_child.py")
    for _ in range(2):  # the abort came every time before; twice makes a lucky pass unlikely
        done = subprocess.run([sys.executable, str(child), str(tmp_path)], capture_output=True, text=True, timeout=300)
        assert "ENCODING" in done.stdout, done.stderr[-2000:]
        assert done.returncode == 0 and "terminate called" not in done.stderr, done.stderr[-2000:]


def test_the_loop_moves_only_once_every_class_has_a_label_and_the_rare_neighbourhoods_are_in(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    gate = threading.Event()
    # 0.3 s a pass: the whole pool's encode is still under way (and looks for labels) when the rare
    # label comes, and waits at its last chunk until the test is done
    first, better = encoders(tmp_path, SlowLastChunk(gate, delay=0.3))
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels={1: "other", 2: "other"},
        store=tmp_path / "l.db", **SMALL,
    )  # fmt: skip
    session.start()
    upgrade = upgrade_of(session)
    try:
        assert session.wait(30)
        wait_until(lambda: upgrade.near is not None and not upgrade.near.pending)  # the labels' rows are in
        time.sleep(0.3)
        assert session.wait(30) and not upgrade.early and session.loop.pool.missing is None, "no class 'eye' yet"
        session.seed([0], "eye")  # a cold start's search finds the first rare example
        wait_until(lambda: upgrade.early)
        assert session.wait(30)
        missing = session.loop.pool.missing
        assert missing is not None and not missing[[0, 1, 2]].any()
        assert upgrade.near is not None and not upgrade.near.urgent, "its neighbourhood came before the move"
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    session.close(wait=True)
