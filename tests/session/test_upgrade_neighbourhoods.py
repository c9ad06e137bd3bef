"""The encoder upgrade serves the labels' neighbourhoods first: the loop moves to them before the
whole pool is encoded, once every class has a label, on a pool whose embeddings arrive in parts;
a failure after the move puts the loop back on its first embeddings."""

import re
import threading
import time

import numpy as np
import pytest
from conftest import clustered_pool
from upgrades import SEEDS, SMALL, TEXTS, WIDE, Wider, answer_all, encoders, upgrade_of, wait_until

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.switch import switch_loop
from anchoral_widget.engine.pool import Pool
from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.errors import InputError
from anchoral_widget.session.startup import start_session
from anchoral_widget.session.upgrade import Upgrade


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


def seeded_session(tmp_path, better_model):
    """A session on the shared pool, seeded with a label of every class, upgrading to ``better_model``."""
    first, better = encoders(tmp_path, better_model)
    return start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels=SEEDS, store=tmp_path / "l.db",
        **SMALL,
    )  # fmt: skip


def upgrading_to_a_slow_last_chunk(tmp_path, monkeypatch):
    """A started seeded session whose upgrade (small neighbourhoods) waits at the pool's last
    chunk until the returned gate opens."""
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    monkeypatch.setattr(Upgrade, "rare_neighbours", 10)
    gate = threading.Event()
    session = seeded_session(tmp_path, SlowLastChunk(gate))
    session.start()
    return session, upgrade_of(session), gate


def test_the_loop_moves_to_the_labels_neighbourhoods_before_the_whole_pool_is_encoded(tmp_path, monkeypatch):
    session, upgrade, gate = upgrading_to_a_slow_last_chunk(tmp_path, monkeypatch)
    try:
        # the whole pool's encode waits at its last chunk (8 of 120 texts)
        wait_until(lambda: upgrade.early and session.snapshot()["status"].endswith("pool 93% encoded"))
        # each chunk of the whole pool's pass joins the neighbourhoods as it is written: all but the last
        wait_until(lambda: session.wait(30) and not session.loop.pool.missing[:112].any())
        missing = session.loop.pool.missing
        assert missing is not None and not upgrade.done
        s = session.snapshot()
        served = int((~missing).sum())
        assert s["status"].endswith(
            f"· better embeddings on {served:,} texts, the labels' neighbourhoods first; the whole pool 93% encoded"
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


def test_a_pool_whose_every_row_arrived_keeps_them_and_its_lists_when_the_upgrade_ends(tmp_path, monkeypatch):
    session, upgrade, gate = upgrading_to_a_slow_last_chunk(tmp_path, monkeypatch)
    try:
        wait_until(lambda: session.wait(30) and upgrade.early and not session.loop.pool.missing[:112].any())
        answer_all(session)
        index, embeddings = session.loop.index, session.loop.embeddings  # the lists are kept on this index
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    assert session.wait(30) and session.loop.pool.missing is None
    assert session.loop.index is index and session.loop.embeddings is embeddings, "every row was in already"
    np.testing.assert_allclose(embeddings, Wider().encode(TEXTS), atol=1e-6)
    answer_all(session)  # and it proposes on them
    session.close(wait=True)


def test_the_neighbourhoods_come_labels_first_then_minority_neighbours_then_the_rest():
    from anchoral_widget.session.neighbourhoods import Neighbourhoods

    X, _, _ = clustered_pool(n=300, d=8, seed=3)
    index = ExactIndex(X)
    near = Neighbourhoods(X, index, neighbours=4, rare_neighbours=10)
    assert near.add({10: "other", 20: "eye"}, ["eye"]) == 2 and near.urgent
    around = {i: set(index.query(X[[i]], 4)[0][0].tolist()) for i in (10, 20, 30)}
    wider = set(index.query(X[[20]], 10)[0][0].tolist())
    order = near.take(1000)
    assert order[:2] == [20, 10], "the labelled items, minority first"
    assert set(order[2:5]) == around[20] - {20, 10}, "then the minority label's neighbours"
    assert not near.urgent, "what the loop needs before it moves is in"
    ring = len(wider - around[20] - {10})
    assert set(order[5 : 5 + ring]) == wider - around[20] - {10}, "then its wider neighbourhood"
    assert set(order[5 + ring :]) == around[10] - wider - {10}, "then the majority label's"
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
    monkeypatch.setattr(Upgrade, "rare_neighbours", 10)
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


def cold_session(tmp_path, monkeypatch, gate):
    """A session with no rare label yet whose upgrade runs (0.3 s a pass: the whole pool's encode
    is still under way, and looks for labels, when the rare label comes) and waits at its last
    chunk until ``gate`` opens."""
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    monkeypatch.setattr(Upgrade, "rare_neighbours", 10)
    first, better = encoders(tmp_path, SlowLastChunk(gate, delay=0.3))
    session = start_session(
        TEXTS, ["other", "eye"], ["eye"], encoder=first, upgrade=better, seed_labels={1: "other", 2: "other"},
        store=tmp_path / "l.db", **SMALL,
    )  # fmt: skip
    session.start()
    return session, upgrade_of(session)


def test_the_loop_moves_only_once_every_class_has_a_label_and_the_rare_neighbourhoods_are_in(tmp_path, monkeypatch):
    gate = threading.Event()
    session, upgrade = cold_session(tmp_path, monkeypatch, gate)
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


def test_chunks_of_the_whole_pool_held_before_the_move_stop_at_their_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "held_rows", 16)  # two chunks of 8
    gate = threading.Event()
    session, upgrade = cold_session(tmp_path, monkeypatch, gate)
    try:
        share = lambda: int((re.search(r"(\d+)% encoded$", session.snapshot()["status"]) or [0, 0])[1])
        wait_until(lambda: share() >= 60)  # chunks written while the loop cannot move (no 'eye' yet)
        written = share() * len(TEXTS) // 100
        assert not upgrade.early
        session.seed([0], "eye")
        wait_until(lambda: upgrade.early)
        assert session.wait(30)
        missing = session.loop.pool.missing
        assert missing is not None and not missing[[0, 1, 2]].any()
        near_labels = 3 + 2 * 5 + 10  # at most: the labels, the majority's and the minority's neighbourhoods
        assert missing[16:written].sum() >= written - 16 - near_labels, "only the first 16 rows were held"
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    assert session.wait(30) and session.loop.pool.missing is None  # the rest came with the whole pool
    assert session.labels.set_index("id").label.to_dict() == {0: "eye", 1: "other", 2: "other"}
    session.close(wait=True)


def test_a_session_with_a_label_of_every_class_holds_its_first_batch_for_the_move(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "neighbours", 5)
    monkeypatch.setattr(Upgrade, "rare_neighbours", 10)
    gate = threading.Event()  # the whole pool's pass waits at its last chunk: only the move can come
    session = seeded_session(tmp_path, SlowLastChunk(gate))
    session.start()
    upgrade = upgrade_of(session)
    try:
        assert session.wait(30), "wait() waits for a held first batch too"
        batch = [card["id"] for card in session.snapshot()["batch"]]
        assert upgrade.early and session.loop.embeddings.shape[1] == WIDE, "the first batch came after the move"
        assert not session.loop.pool.missing[batch].any(), "proposed from what MiniLM has encoded"
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    session.close(wait=True)


def test_the_first_batch_waits_for_the_move_no_longer_than_head_start(tmp_path, monkeypatch):
    monkeypatch.setattr(Upgrade, "head_start", 2.0)
    gate = threading.Event()  # the upgrade encodes nothing until the test opens it: no move
    session = seeded_session(tmp_path, Wider(gate=gate))
    upgrade = upgrade_of(session)
    try:
        began = time.monotonic()
        session.start()
        text = lambda: session.snapshot()["startup"]["text"]
        wait_until(lambda: text() == "better encodes the labels' neighbourhoods first: the first batch comes from them")
        assert session.wait(10) and session.snapshot()["batch"], "wait() returns once the held batch is proposed"
        assert time.monotonic() - began >= 2.0
        assert not upgrade.early and session.loop.embeddings.shape[1] == 16, "proposed on the first embeddings"
        assert text().startswith("fast embeddings; better's vectors behind you, labelling is not waiting on them")
    finally:
        gate.set()
    wait_until(lambda: upgrade.done)
    session.close(wait=True)


def test_only_a_session_that_can_move_at_once_holds_its_first_batch(tmp_path, monkeypatch):
    from anchoral_widget.session.startup import holds_first_batch

    _, better = encoders(tmp_path, Wider())
    upgrade = Upgrade(better)
    loop = ActiveLoop(clustered_pool(n=40, d=8)[0], ["other", "eye"], ["eye"], neighbours=10)
    loop.label([0, 1], ["other", "eye"])
    assert holds_first_batch(upgrade, loop)
    monkeypatch.setattr(Upgrade, "head_start", 0)
    assert not holds_first_batch(upgrade, loop)
    monkeypatch.undo()
    loop.correct([1], ["other"])  # no label of the rare class: a cold start, nothing to move to yet
    assert not holds_first_batch(upgrade, loop)
    upgrade.done = True  # a restart found the upgraded embeddings whole
    loop.correct([1], ["eye"])
    assert not holds_first_batch(upgrade, loop)
