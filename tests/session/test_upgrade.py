"""The encoder upgrade: a session starts on its first embeddings, a better encoder encodes the pool
behind it, and the loop moves to the new embeddings between two batches without losing a label, a
draft, the history or the store; a restart starts on the upgraded embeddings; a failing upgrade
leaves the session as it was, and says so."""

import threading
import time

import pytest
from encode_child import HashModel
from upgrades import SEEDS, SMALL, TEXTS, WIDE, N, Wider, answer_all, encoders, upgrade_of, wait_until

from anchoral_widget.errors import InputError
from anchoral_widget.session import upgrade_plan
from anchoral_widget.session.progress import Progress
from anchoral_widget.session.startup import start_session
from anchoral_widget.session.upgrade import Upgrade, UpgradeStopped
from anchoral_widget.session.upgrade_plan import UPGRADE_CHUNK, embeddings_name, plan_upgrade


@pytest.mark.parametrize(
    ("lands", "training"),
    [
        ("before the first batch", "strict"),
        ("with drafts on screen", "strict"),
        ("with drafts on screen", "ahead"),
        ("between a submit and the next batch", "strict"),
    ],
)
def test_the_switch_lands_between_batches_with_labels_drafts_history_and_store_intact(
    tmp_path, monkeypatch, lands, training
):
    monkeypatch.setattr(Upgrade, "head_start", 0)  # the first batch at once, on the first embeddings
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
        assert (
            s["startup"]["text"]
            == "fast embeddings; better's vectors behind you, labelling is not waiting on them: loading better"
        )
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


def test_no_upgrade_when_turned_off_or_for_an_encoder_of_ones_own(tmp_path, monkeypatch):
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
    assert upgrade.spec.name == "onnx" and embeddings_name(upgrade) == "MiniLM"
    assert upgrade.chunk_size == UPGRADE_CHUNK  # about a batch's worth reaches the loop at a time
    for cores, threads in ((1, 1), (2, 1), (16, 15)):  # every core but the loop's
        monkeypatch.setattr(upgrade_plan, "usable_cores", lambda cores=cores: cores)
        assert plan_upgrade("auto", session_encoder("fast"), encodes_pool=True).threads == threads
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


def test_the_upgrade_progress_says_it_is_behind_the_person_and_reads_its_rate_over_a_window():
    now, shown = [0.0], []
    progress = Progress(shown.append, clock=lambda: now[0])
    progress.embeddings, progress.upgrading = "fast", "MiniLM"
    behind = "fast embeddings; MiniLM's vectors behind you, labelling is not waiting on them"
    progress("upgrade", None, 58_000)
    assert shown[-1]["text"] == f"{behind}: loading MiniLM"
    progress("upgrade", 0, 58_000)
    now[0] += 5.0
    progress("upgrade", 10, 58_000)  # a slow first part (the labels' neighbourhoods): no estimate yet
    assert shown[-1]["text"] == f"{behind}: 10 / 58,000 · estimating the time left"
    assert shown[-1]["left"] is None
    for _ in range(12):  # then 300 texts/s for two minutes
        now[0] += 10.0
        progress("upgrade", shown[-1]["done"] + 3_000, 58_000)
    assert shown[-1]["done"] == 36_010 and shown[-1]["rate"] == 300.0, "the last minute's rate, not the start's"
    assert shown[-1]["text"] == f"{behind}: 36,010 / 58,000 · 300 texts/s · 1 min 13 s left"
    assert shown[-1]["embeddings"] == "fast" and shown[-1]["stage"] == "upgrade"
    progress.embeddings = "MiniLM"
    progress("ready", None, None)
    assert shown[-1]["text"] == "MiniLM embeddings" and shown[-1]["seconds"]["upgrade"] == 125.0
