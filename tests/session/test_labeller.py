"""LabelSession: the labelling state behind the widget, driven headless as the front end would."""

import threading
import time

import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.learners.learner import make_learner
from anchoral_widget.engine.loop.active import SEED_ITERATION, ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.labeller import LabelSession
from anchoral_widget.session.startup import build_session

B = 5


class KeywordEncoder:
    """Encodes a query by the pool items whose text holds it: enough to test search."""

    def __init__(self, texts, embeddings):
        self.texts, self.embeddings = texts, embeddings
        self.calls = []

    def encode(self, texts):
        self.calls.append(list(texts))
        out = []
        for q in texts:
            hits = [i for i, t in enumerate(self.texts) if q in t]
            v = self.embeddings[hits].mean(axis=0) if hits else np.zeros(self.embeddings.shape[1])
            out.append(v / max(np.linalg.norm(v), 1e-12))
        return np.asarray(out, dtype=np.float32)


class GatedLearner:
    """The default learner, but fit waits for ``gate`` (when closed): a retrain that takes as long
    as a test wants. ``fail`` makes the next fits raise."""

    inputs = "embeddings"

    def __init__(self):
        self.base = make_learner("logreg")
        self.gate = threading.Event()
        self.gate.set()
        self.fitting = threading.Event()
        self.fail = 0

    def fit(self, X, y, n_classes, seed):
        self.fitting.set()
        assert self.gate.wait(30), "the test never opened the gate"
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the learner broke")
        return self.base.fit(X, y, n_classes, seed)


@pytest.fixture
def data():
    X, y, _ = clustered_pool(n=400, seed=1)
    texts = [f"{'eye' if label == 'rare' else 'other'} text {i}" for i, label in enumerate(y)]
    return X, y, texts


def seeds(y, rare=1, other=1):
    return {
        **{int(i): "eye" for i in np.flatnonzero(y == "rare")[:rare]},
        **{int(i): "other" for i in np.flatnonzero(y == "other")[:other]},
    }


def make(data, *, seed_labels=None, learner="logreg", **kw):
    X, y, texts = data
    params = dict(batch_size=B, subpool_size=100, neighbours=30, index="exact", seed=0, store=None)
    params.update(kw)
    session = build_session(
        texts,
        ["other", "eye"],
        ["eye"],
        embeddings=X,
        encoder=KeywordEncoder(texts, X),
        seed_labels=seeds(y) if seed_labels is None else seed_labels,
        learner=learner,
        **params,
    )
    events = []
    session.on_change(lambda changes: events.append(dict(changes)))
    session.start()
    assert session.wait(30)
    session.events = events
    return session


def batch_ids(session):
    return [c["id"] for c in session.snapshot()["batch"]]


def answer_all(session, label="other"):
    s = session.snapshot()
    session.handle({"kind": "rest", "label": label, "iteration": s["iteration"]})
    return s


def test_first_batch_has_cards_with_guess_score_and_nearest_anchor(data):
    session = make(data)
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
    assert set(s["seconds"]) == {"train", "select", "total"}
    assert s["progress"] == {
        "labelled": 2,
        "skipped": 0,
        "budget": None,
        "pool": 400,
        "counts": {"other": 1, "eye": 1},
        "missing": [],
        "iteration": 0,
    }


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


def test_cold_start_status_names_the_classes_still_missing(data):
    _X, y, _texts = data
    session = make(data, seed_labels={})
    assert "no label yet for 'other', 'eye'" in session.snapshot()["status"]
    session.handle({"kind": "seed", "ids": [int(np.flatnonzero(y == "rare")[0])], "label": "eye"})
    assert session.wait(10)
    s = session.snapshot()
    assert s["phase"] == "cold" and "no label yet for 'other'." in s["status"]
    assert s["progress"]["missing"] == ["other"]


def test_cold_start_search_then_seed_starts_the_loop(data):
    _X, y, _texts = data
    session = make(data, seed_labels=seeds(y, rare=0, other=1))
    s = session.snapshot()
    assert s["phase"] == "cold" and s["batch"] == [] and "'eye'" in s["status"]
    assert s["progress"]["missing"] == ["eye"]
    session.handle({"kind": "search", "query": "eye"})
    assert session.wait(10)
    results = session.snapshot()["search"]["results"]
    assert results and session.snapshot()["search"]["busy"] is False
    top = results[0]
    assert y[top["id"]] == "rare" and top["label"] is None
    assert [r["similarity"] for r in results] == sorted((r["similarity"] for r in results), reverse=True)
    session.handle({"kind": "seed", "ids": [top["id"]], "label": "eye"})
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and len(s["batch"]) == B
    assert s["search"]["results"][0]["label"] == "eye", "the result shows its new label"
    assert session.loop.labels[top["id"]] == "eye"


def test_labels_keep_their_types_when_empty(data):
    _X, y, _texts = data
    session = make(data, seed_labels={})
    labels = session.labels
    assert len(labels) == 0 and list(labels.columns) == ["id", "text", "label", "iteration", "time"]
    assert labels.id.dtype == "int64" and labels.iteration.dtype == "int64"
    assert str(labels.time.dt.tz) == "UTC"
    assert len(np.asarray(y)[labels.id.to_numpy()]) == 0, "usable as an index"


def test_the_pool_holds_the_one_copy_of_the_texts(data):
    X, _y, texts = data
    loop = ActiveLoop(X, ["other", "eye"], index="exact", subpool_size=100)
    session = LabelSession(texts, loop)  # a loop made from embeddings alone is handed them
    assert loop.pool.texts is texts and session.texts is texts
    assert not [name for name, value in vars(session).items() if value is texts]
    assert not [name for name, value in vars(session._guarded).items() if value is texts]
    own = ActiveLoop(X, ["other", "eye"], texts=texts, index="exact", subpool_size=100)
    with pytest.raises(InputError, match="differ from those of the loop's pool"):
        LabelSession([f"{t}!" for t in texts], own)


def test_search_without_an_encoder_says_what_to_pass(data):
    X, _y, texts = data
    session = LabelSession(texts, ActiveLoop(X, ["other", "eye"], index="exact", subpool_size=100))
    with pytest.raises(InputError, match="encoder="):
        session.handle({"kind": "search", "query": "eye"})


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


def test_same_seed_same_first_batch(data):
    assert batch_ids(make(data)) == batch_ids(make(data))
    assert batch_ids(make(data, strategy="random")) == batch_ids(make(data, strategy="random"))
    assert batch_ids(make(data, strategy="random")) != batch_ids(make(data, strategy="random", seed=1))


def test_an_existing_loop_goes_on_with_its_unanswered_items(data):
    X, y, texts = data
    loop = ActiveLoop(X, ["other", "eye"], ["eye"], batch_size=B, subpool_size=100, index="exact")
    loop.label(list(seeds(y)), list(seeds(y).values()))
    pending = loop.propose()
    loop.label(pending.batch_ids[:2], ["other", "other"])
    session = build_session(texts, loop=loop)
    session.start()
    assert session.wait(30)
    s = session.snapshot()
    assert batch_ids(session) == pending.batch_ids[2:].tolist() and s["iteration"] == 0
    assert len(s["batch"][0]["proba"]) == 2


def test_a_session_with_a_store_resumes_where_it_stopped(data, tmp_path):
    store = tmp_path / "labels.db"
    session = make(data, store=store)
    it, first = answer_all(session)["iteration"], batch_ids(session)
    session.handle({"kind": "submit", "iteration": it})
    assert session.wait(30)
    pending = batch_ids(session)
    session.close(wait=True)
    session.loop.store.close()

    again = make(data, store=store)  # the same seed labels again: taken as already given
    assert len(again.labels) == 2 + B and set(first) <= set(again.labels.id)
    assert batch_ids(again) == pending and again.snapshot()["iteration"] == 1
    eye = next(i for i, c in seeds(data[1]).items() if c == "eye")
    with pytest.raises(InputError, match="differs from its stored label 'eye'"):
        make(data, store=store, seed_labels={eye: "other"})


def test_build_session_checks_its_arguments(data):
    X, _y, texts = data
    with pytest.raises(TypeError, match="either loop="):
        build_session(texts, loop=ActiveLoop(X, ["a", "b"], subpool_size=100), batch_size=3)
    with pytest.raises(TypeError):
        build_session(texts, ["a", "b"], embeddings=X, batch_sise=3)
    with pytest.raises(InputError, match="classes are needed"):
        build_session(texts, embeddings=X)
    with pytest.raises(InputError, match="399 texts but 400"):
        build_session(texts[:-1], ["a", "b"], embeddings=X, subpool_size=100)
    with pytest.raises(InputError, match="not among the classes"):
        build_session(texts, ["a", "b"], embeddings=X, subpool_size=100, seed_labels={0: "c"})
    with pytest.raises(InputError, match="budget"):
        build_session(texts, ["a", "b"], embeddings=X, subpool_size=100, budget=0)
    with pytest.raises(InputError, match="differ as text"):
        build_session(texts, [1, "1"], embeddings=X, subpool_size=100)


def test_labels_are_kept_in_a_store_named_after_the_pool_by_default(data, tmp_path):
    X, texts = data[0], data[2]
    session = build_session(
        texts,
        ["other", "eye"],
        ["eye"],
        embeddings=X,
        encoder=KeywordEncoder(texts, X),
        batch_size=B,
        subpool_size=50,
        index="exact",
    )
    path = session.loop.store.path
    assert path.parent == tmp_path and path.name.startswith("anchoral-labels-") and path.suffix == ".db"
    session.loop.label([0, 1], ["other", "eye"])
    session.close()
    again = build_session(
        texts,
        ["other", "eye"],
        ["eye"],
        embeddings=X,
        encoder=KeywordEncoder(texts, X),
        batch_size=B,
        subpool_size=50,
        index="exact",
    )
    assert again.loop.labels == {0: "other", 1: "eye"} and again.loop.store.path == path
    again.close()
    other_pool = build_session(
        texts[:-1],
        ["other", "eye"],
        ["eye"],
        embeddings=X[:-1],
        encoder=KeywordEncoder(texts[:-1], X[:-1]),
        batch_size=B,
        subpool_size=50,
        index="exact",
    )
    assert other_pool.loop.store.path != path and other_pool.loop.labels == {}
    other_pool.close()
    memory_only = build_session(
        texts,
        ["other", "eye"],
        ["eye"],
        embeddings=X,
        store=None,
        encoder=KeywordEncoder(texts, X),
        batch_size=B,
        subpool_size=50,
        index="exact",
    )
    assert memory_only.loop.store is None
    memory_only.close()


def test_labels_are_stored_before_the_retrain_and_read_without_waiting_for_it(data):
    learner = GatedLearner()
    session = make(data, learner=learner)
    it, ids = answer_all(session)["iteration"], batch_ids(session)
    learner.gate.clear()
    learner.fitting.clear()
    session.handle({"kind": "submit", "iteration": it})
    assert learner.fitting.wait(10)
    try:
        started = time.perf_counter()
        labels = session.labels
        assert time.perf_counter() - started < 0.5, "labels never waits for training"
        assert set(ids) <= set(labels.id) and len(labels) == 2 + B
        assert not session.wait(0.05), "the retrain is still running"
    finally:
        learner.gate.set()
    assert session.wait(30)


def test_a_batch_that_cannot_be_stored_comes_back_with_its_answers(data, monkeypatch):
    session = make(data)
    it, ids = session.snapshot()["iteration"], batch_ids(session)
    session.handle({"kind": "skip", "ids": [ids[0]], "iteration": it})
    session.handle({"kind": "rest", "label": "eye", "iteration": it})
    answers = session.snapshot()["answers"]

    def broken_skip(_ids):
        raise InputError("the disk is full")

    monkeypatch.setattr(session.loop, "skip", broken_skip)
    session.handle({"kind": "submit", "iteration": it})
    assert session.wait(30)
    s = session.snapshot()
    assert s["error"] == "the disk is full" and s["phase"] == "ready"
    assert s["answers"] == answers and batch_ids(session) == ids and s["iteration"] == it
    assert len(session.labels) == 2, "the labels went in but the skip did not: neither is kept"
    monkeypatch.undo()
    session.handle({"kind": "submit", "iteration": it})  # sent again, as it was
    assert session.wait(30)
    assert set(ids[1:]) <= set(session.labels.id) and session.loop.skipped_ids.tolist() == [ids[0]]


def test_a_closed_session_refuses_commands(data):
    session = make(data)
    session.close(wait=True)
    with pytest.raises(InputError, match="closed"):
        session.handle({"kind": "retry"})


def test_a_misspelt_keyword_is_refused_before_the_pool_is_encoded(data):
    class Untouchable:
        def encode(self, texts):
            raise AssertionError("encoded before the arguments were checked")

    with pytest.raises(TypeError, match="unknown argument 'batch_sise'; the loop takes anchor_strategy"):
        build_session(data[2], ["other", "eye"], encoder=Untouchable(), batch_sise=3)


PRIMITIVES = ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier")


def test_no_part_of_a_live_session_holds_more_than_one_lock(data):
    # what each class makes is checked over the whole package in tests/test_house.py
    # what each part of a live session holds
    kinds = tuple(type(getattr(threading, name)()) for name in ("Lock", "RLock")) + tuple(
        getattr(threading, name) for name in PRIMITIVES[2:]
    )
    session = make(data)
    seen, todo, parts = set(), [session], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        parts.append(obj)
        for value in vars(obj).values():
            if type(value).__module__.startswith("anchoral_widget.session"):
                todo.append(value)
    names = {type(p).__name__ for p in parts}
    assert {"LabelSession", "Screen", "GuardedLoop", "Worker", "MapChannel", "BatchDrafts"} <= names
    for part in parts:
        locks = [name for name, value in vars(part).items() if isinstance(value, kinds)]
        assert len(locks) <= 1, f"{type(part).__name__} holds {locks}"
    session.close()


# ---- label-ahead: the fine-tuning runs in the background -----------------------------------------


def slow_session(data, **kw):
    from test_trainer import SlowLearner

    learner = SlowLearner()
    session = make(data, learner=learner, training="ahead", **kw)
    return session, learner


def test_label_ahead_proposes_at_once_with_the_latest_model_while_the_next_fit_runs(data):
    session, learner = slow_session(data)
    s = session.snapshot()
    assert {c["model_labelled"] for c in s["batch"]} == {None}, "no model yet: drawn at random"
    assert "no model yet: drawn at random from the subpool" in s["status"]
    assert [e["phase"] for e in session.events if "phase" in e] == ["selecting", "ready"], "nothing waits for a fit"
    assert session._trainer.idle(10) and learner.fits == [2]
    learner.gate.clear()  # from here the fits take as long as the test wants
    learner.started.clear()
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    started = time.perf_counter()
    assert session.wait(10), "the next batch does not wait for the fit"
    assert time.perf_counter() - started < 5 and learner.started.wait(10)
    s = session.snapshot()
    assert s["phase"] == "ready" and s["iteration"] == 1 and s["seconds"]["train"] == 0
    assert {c["model_labelled"] for c in s["batch"]} == {2}, "proposed by the model of the seed labels"
    assert "model trained on 2 labels (5 newer labels not in it yet)" in s["status"]
    assert s["status"].endswith(" · fine-tuning on 7 labels in the background")
    assert session.loop.pending.model_labelled == 2 and session.loop.pending.labelled_count == 7
    learner.gate.set()
    assert session._trainer.idle(10) and learner.fits == [2, 7]
    assert session.snapshot()["status"].endswith(" · the model trained on 7 labels will propose the next batch")
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(10)
    assert {c["model_labelled"] for c in session.snapshot()["batch"]} == {7}, "a finished fit is used next"
    assert session.loop.history[-1].model_labelled == 2
    session.close(wait=True)


def test_label_ahead_a_failed_fit_keeps_the_last_good_model_and_shows_the_error(data):
    session, learner = slow_session(data)
    assert session._trainer.idle(10)
    learner.fail = 1
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(10) and session._trainer.idle(10)
    s = session.snapshot()
    assert s["error"] == "unexpected RuntimeError: CUDA out of memory", "shown under the widget"
    assert s["phase"] == "ready" and len(s["batch"]) == B, "the batch stays: the last good model proposed it"
    assert {c["model_labelled"] for c in s["batch"]} == {2}
    assert len(session.labels) == 2 + B, "no label lost"
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(10)
    assert {c["model_labelled"] for c in session.snapshot()["batch"]} == {2}, "still the last good model"
    assert session._trainer.idle(10) and learner.fits == [2, 7, 12]
    session.close(wait=True)


class _KeywordModel:
    """A fitted text model: "eye" in a text makes it likely of class 1."""

    def predict_proba(self, texts):
        return np.array([[0.2, 0.8] if "eye" in t else [0.7, 0.3] for t in texts])


def test_label_ahead_proposes_with_the_embedding_model_until_the_first_fine_tuning_ends(data):
    """Before a text learner's first fit finishes, the batch is chosen by uncertainty under a
    logistic regression on the embeddings fitted on every label, not drawn at random; the cards
    and the status line say so, and the first fine-tuned model takes over once it is done."""
    from test_trainer import SlowLearner

    from anchoral_widget.engine.learners.learner import EmbeddingClassifier
    from anchoral_widget.engine.method.strategies import entropy

    class TextLearner(SlowLearner):
        inputs = "texts"

        def fit(self, X, y, n_classes, seed, **kw):
            super().fit(np.zeros((len(y), 2)), y, n_classes, seed, **kw)
            return _KeywordModel()

    learner = TextLearner()
    learner.gate.clear()  # the first fine-tuning lasts until the test says
    session = make(data, learner=learner, training="ahead")
    s = session.snapshot()
    assert {(c["model_labelled"], c["model_stand_in"]) for c in s["batch"]} == {(2, True)}
    assert "embedding model (until the first fine-tuned one) trained on 2 labels" in s["status"]
    X, _, _ = data
    pending = session.loop.pending
    ids, y = session.loop.labelled_in_id_order()
    stand_in = EmbeddingClassifier().fit(X[ids], y, 2, 0)
    scores = entropy(stand_in.predict_proba(X[pending.subpool_ids]))
    assert set(pending.batch_ids) == set(pending.subpool_ids[np.argsort(-scores, kind="stable")[:B]])
    assert pending.test is None and session.loop.model_ is None, "the stand-in never passes for the learner"
    learner.gate.set()
    assert session._trainer.idle(10) and learner.fits == [2]
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(10)
    s = session.snapshot()
    assert {(c["model_labelled"], c["model_stand_in"]) for c in s["batch"]} == {(2, False)}, "the fine-tuned one"
    assert session.loop.history[-1].model_labelled == 2
    session.close(wait=True)


def test_closing_a_session_stops_the_fit_in_the_background(data):
    session, learner = slow_session(data)
    assert session._trainer.idle(10)
    learner.gate.clear()
    learner.started.clear()
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(10) and learner.started.wait(10)
    thread = session._trainer._thread
    started = time.perf_counter()
    session.close(wait=True)
    assert not thread.is_alive() and time.perf_counter() - started < 5, "cancelled at its next step"
    assert session._trainer.latest.labelled == 2


def test_strict_mode_waits_for_the_fit_and_says_which_model_proposed(data):
    session, learner = slow_session(data, seed_labels=None)
    strict = make(data, learner=learner, training="strict")
    s = strict.snapshot()
    assert [e["phase"] for e in strict.events if "phase" in e] == ["training", "selecting", "ready"]
    assert {c["model_labelled"] for c in s["batch"]} == {2} and s["status"].endswith("; model trained on 2 labels")
    with pytest.raises(InputError, match="unknown training 'later'"):
        make(data, training="later")
    session.close()
    strict.close()
