"""LabelSession: the labelling state behind the widget, driven headless as the front end would:
the batch's cards, answers as drafts, submit, commands refused, the loop's end and its failures."""

import time

import numpy as np
import pytest
from sessions import B, GatedLearner, answer_all, batch_ids, eye_pool, make

from anchoral_widget.engine.loop.active import SEED_ITERATION
from anchoral_widget.errors import InputError


@pytest.fixture
def data():
    return eye_pool()


def test_first_batch_has_cards_with_guess_score_and_nearest_anchor(data):
    session = make(data, outside_sample=0)  # every card retrieved by an anchor
    s = session.snapshot()
    assert s["phase"] == "ready" and s["status"].startswith("ready: 5 texts in")
    assert len(s["batch"]) == B and s["iteration"] == 0
    anchors = set(session.loop.labels)
    for card in s["batch"]:
        assert card["text"] == data[2][card["id"]]
        assert card["predicted"] in ("other", "eye")
        assert card["confidence"] == pytest.approx(max(card["proba"]), abs=1e-4)
        assert 0 < card["score"] <= 1
        assert card["anchor"]["id"] in anchors
        assert card["anchor"]["label"] == session.loop.labels[card["anchor"]["id"]]
    pending = session.loop.pending
    retrieved_by = dict(zip(pending.batch_ids.tolist(), pending.batch_retrieved_by.tolist()))
    assert all(card["anchor"]["id"] == retrieved_by[card["id"]] for card in s["batch"]), "the anchor that retrieved it"
    assert not any(card["outside"] for card in s["batch"])
    assert set(s["seconds"]) == {"train", "select", "total"}
    assert s["progress"] == {
        "labelled": 2,
        "skipped": 0,
        "budget": None,
        "pool": 400,
        "counts": {"other": 1, "eye": 1},
        "missing": [],
        "iteration": 0,
        "store": None,
    }


def test_a_card_from_beyond_the_anchors_says_so_and_has_no_score(data):
    session = make(data, outside_sample=200)
    pending = session.loop.pending
    by = dict(zip(pending.batch_ids.tolist(), pending.batch_retrieved_by.tolist()))
    cards = session.snapshot()["batch"]
    assert any(by[c["id"]] == -1 for c in cards), "some of the batch comes from beyond the anchors"
    for card in cards:
        outside = by[card["id"]] == -1
        assert card["outside"] is outside and (card["anchor"] is None) is outside and (card["score"] is None) is outside


def test_status_goes_training_selecting_ready(data):
    session = make(data)
    phases = [e["phase"] for e in session.events if "phase" in e]
    assert phases == ["training", "selecting", "ready"]


def test_answers_are_drafts_with_undo_per_action(data):
    session = make(data)
    it, ids = session.snapshot()["iteration"], batch_ids(session)
    session.handle({"kind": "label", "ids": [ids[0]], "label": "eye", "iteration": it})
    session.handle({"kind": "skip", "ids": [ids[1]], "iteration": it})
    session.handle({"kind": "label", "ids": [ids[0]], "label": "other", "iteration": it})
    session.handle({"kind": "rest", "label": "other", "iteration": it})
    full = {str(ids[0]): "other", str(ids[1]): None, **{str(i): "other" for i in ids[2:]}}
    assert session.snapshot()["answers"] == full
    session.handle({"kind": "undo", "iteration": it})  # the whole "rest" at once
    assert session.snapshot()["answers"] == {str(ids[0]): "other", str(ids[1]): None}
    session.handle({"kind": "undo", "iteration": it})  # the relabel: back to "eye"
    assert session.snapshot()["answers"] == {str(ids[0]): "eye", str(ids[1]): None}
    session.handle({"kind": "undo", "iteration": it})
    session.handle({"kind": "undo", "iteration": it})
    assert session.snapshot()["answers"] == {}
    with pytest.raises(InputError, match="nothing to undo"):
        session.handle({"kind": "undo", "iteration": it})
    assert len(session.loop.labels) == 2, "drafts never reach the loop before submit"


def test_submit_stores_labels_and_skips_then_proposes_a_new_batch(data):
    session = make(data)
    it, ids = session.snapshot()["iteration"], batch_ids(session)
    session.handle({"kind": "label", "ids": [ids[0]], "label": "eye", "iteration": it})
    session.handle({"kind": "skip", "ids": [ids[1]], "iteration": it})
    session.handle({"kind": "rest", "label": "other", "iteration": it})
    session.handle({"kind": "submit", "iteration": it})
    labels = session.labels  # waits for the stored labels, not for the retrain
    assert list(labels.columns) == ["id", "text", "label", "iteration", "time"]
    assert len(labels) == 2 + B - 1
    row = labels.set_index("id").loc[ids[0]]
    assert row["label"] == "eye" and row["iteration"] == 0 and row["text"] == data[2][ids[0]]
    assert set(labels[labels.id.isin(ids)].iteration) == {0}
    assert set(labels[~labels.id.isin(ids)].iteration) == {SEED_ITERATION}
    assert str(labels["time"].dt.tz) == "UTC"
    assert session.loop.skipped_ids.tolist() == [ids[1]]
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and s["iteration"] == 1 and s["answers"] == {}
    assert not set(batch_ids(session)) & set(ids)
    assert s["progress"]["labelled"] == 6 and s["progress"]["skipped"] == 1
    assert s["progress"]["counts"] == {"other": 4, "eye": 2}


def test_submit_needs_every_card_answered(data):
    session = make(data)
    it, ids = session.snapshot()["iteration"], batch_ids(session)
    session.handle({"kind": "label", "ids": [ids[0]], "label": "eye", "iteration": it})
    before = session.snapshot()
    with pytest.raises(InputError, match="4 card"):
        session.handle({"kind": "submit", "iteration": it})
    assert session.snapshot() == before and len(session.loop.labels) == 2


@pytest.mark.parametrize(
    "msg, error",
    [
        ({"kind": "explode"}, "unknown command"),
        ("label", "unknown command"),
        ({"kind": "label", "ids": [-99], "label": "eye", "iteration": 0}, "not in the current batch"),
        ({"kind": "label", "ids": "ID", "label": "eye", "iteration": 0}, "list of integer ids"),
        ({"kind": "label", "ids": [True], "label": "eye", "iteration": 0}, "list of integer ids"),
        ({"kind": "label", "ids": [], "label": "eye", "iteration": 0}, "list of integer ids"),
        ({"kind": "label", "FIRST": None, "label": "nose", "iteration": 0}, "unknown class 'nose'"),
        ({"kind": "label", "FIRST": None, "label": "eye"}, "must name the batch"),
        ({"kind": "label", "FIRST": None, "label": "eye", "iteration": 7}, "batch 7"),
        ({"kind": "label", "FIRST": 2, "label": "eye", "iteration": 0}, "twice"),
        ({"kind": "rest", "label": None, "iteration": 0}, "unknown class"),
        ({"kind": "seed", "ids": [10**6], "label": "eye"}, "no text has id"),
        ({"kind": "seed", "SEEDED": None, "label": "eye"}, "already labelled"),
        ({"kind": "seed", "FIRST": None, "label": "eye"}, "in the current batch"),
        ({"kind": "search", "query": "   "}, "type some words"),
        ({"kind": "retry"}, "nothing to retry"),
    ],
)
def test_bad_commands_are_rejected_and_change_nothing(data, msg, error):
    session = make(data)
    first = batch_ids(session)[0]
    msg = dict(msg) if isinstance(msg, dict) else msg
    if isinstance(msg, dict) and "FIRST" in msg:
        msg["ids"] = [first] * (msg.pop("FIRST") or 1)
    if isinstance(msg, dict) and "SEEDED" in msg:
        msg.pop("SEEDED")
        msg["ids"] = [next(iter(session.loop.labels))]
    before, labels_before = session.snapshot(), dict(session.loop.labels)
    with pytest.raises(InputError, match=error):
        session.handle(msg)
    assert session.wait(10)
    assert session.snapshot() == before
    assert session.loop.labels == labels_before


def test_commands_for_a_submitted_batch_are_rejected_while_the_retrain_runs(data):
    learner = GatedLearner()
    session = make(data, learner=learner)
    it, ids = session.snapshot()["iteration"], batch_ids(session)
    answer_all(session)
    learner.gate.clear()
    learner.fitting.clear()
    session.handle({"kind": "submit", "iteration": it})
    assert learner.fitting.wait(10), "the retrain started"
    try:
        assert session.snapshot()["phase"] == "training"
        # a second view, a double click, a late key press: all about the batch just submitted
        for msg in (
            {"kind": "submit", "iteration": it},
            {"kind": "label", "ids": [ids[0]], "label": "eye", "iteration": it},
            {"kind": "undo", "iteration": it},
        ):
            started = time.perf_counter()
            with pytest.raises(InputError, match="no batch to label right now"):
                session.handle(msg)
            assert time.perf_counter() - started < 0.5, "the handler never waits for training"
    finally:
        learner.gate.set()
    assert session.wait(30)
    labels = session.labels
    assert len(labels) == 2 + B and labels.id.is_unique
    assert (labels.set_index("id").loc[ids, "label"] == "other").all()
    assert session.snapshot()["iteration"] == 1


def test_seed_labels_sent_during_a_retrain_are_stored_once(data):
    learner = GatedLearner()
    session = make(data, learner=learner)
    _X, y, _texts = data
    it = session.snapshot()["iteration"]
    answer_all(session)
    learner.gate.clear()
    learner.fitting.clear()
    session.handle({"kind": "submit", "iteration": it})
    assert learner.fitting.wait(10)
    try:
        extra = next(int(i) for i in np.flatnonzero(y == "rare") if int(i) not in session.loop.labels)
        started = time.perf_counter()
        session.handle({"kind": "seed", "ids": [extra], "label": "eye"})
        assert time.perf_counter() - started < 0.5
        with pytest.raises(InputError, match="already labelled"):
            session.handle({"kind": "seed", "ids": [extra], "label": "eye"})  # a double click
    finally:
        learner.gate.set()
    assert session.wait(30)
    labels = session.labels
    assert labels.id.is_unique and (labels.id == extra).sum() == 1
    assert len(labels) == 2 + B + 1
    assert session.snapshot()["progress"]["labelled"] == 2 + B + 1


def test_budget_stops_the_loop_and_raising_it_goes_on(data):
    session = make(
        data,
    )
    session.budget = 2 + B
    it = answer_all(session)["iteration"]
    session.handle({"kind": "submit", "iteration": it})
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "done" and s["batch"] == [] and "budget reached: 7 of 7" in s["status"]
    session.budget = 20
    assert session.wait(30)
    assert session.snapshot()["phase"] == "ready" and session.snapshot()["progress"]["budget"] == 20


def test_an_exhausted_pool_ends_the_loop(data):
    X, y, texts = data
    keep = np.r_[np.flatnonzero(y == "rare")[:1], np.flatnonzero(y == "other")[:11]]
    small = (X[keep], y[keep], [texts[i] for i in keep])
    session = make(small, pool_filter="randsub", subpool_size=10, neighbours=5)
    for _ in range(2):
        s = answer_all(session)
        session.handle({"kind": "submit", "iteration": s["iteration"]})
        assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "done" and "exhausted" in s["status"]
    assert s["progress"]["labelled"] == 12


def test_a_failed_retrain_shows_the_error_and_retry_recovers(data):
    learner = GatedLearner()
    session = make(data, learner=learner)
    it, ids = answer_all(session)["iteration"], batch_ids(session)
    learner.fail = 1
    session.handle({"kind": "submit", "iteration": it})
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "error" and s["error"] == "unexpected RuntimeError: the learner broke"
    assert set(ids) <= set(session.labels.id), "the labels were stored before the failure"
    session.handle({"kind": "retry"})
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and s["error"] == "" and len(s["batch"]) == B


def test_a_closed_session_refuses_commands(data):
    session = make(data)
    session.close(wait=True)
    with pytest.raises(InputError, match="closed"):
        session.handle({"kind": "retry"})
