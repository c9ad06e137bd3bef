"""A session's labels on disk: stored before the retrain, in a store named after the pool by
default, resumed where they stopped, and a batch that cannot be stored comes back whole."""

import time

import pytest
from sessions import B, GatedLearner, KeywordEncoder, answer_all, batch_ids, eye_pool, make, seeds

from anchoral_widget.errors import InputError
from anchoral_widget.session.startup import build_session


@pytest.fixture
def data():
    return eye_pool()


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
    assert path.parent == tmp_path / "anchoral-labels" and path.suffix == ".db"
    assert path.name.startswith(f"eye-{len(texts)}-texts-"), "named after the rare class and the pool"
    assert session.snapshot()["progress"]["store"] == f"anchoral-labels/{path.name}", "and said where"
    assert not list(tmp_path.glob("*.db*")), "nothing beside the notebook"
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


def test_labels_kept_at_the_former_default_are_found_there(data, tmp_path):
    X, texts = data[0], data[2]
    params = dict(embeddings=X, encoder=KeywordEncoder(texts, X), batch_size=B, subpool_size=50, index="exact")
    probe = build_session(texts, ["other", "eye"], ["eye"], store=None, **params)
    former = tmp_path / f"anchoral-labels-{probe.loop.pool.fingerprint[:12]}.db"  # where the first releases kept them
    probe.close()
    first = build_session(texts, ["other", "eye"], ["eye"], store=former, **params)
    first.loop.label([0, 1], ["other", "eye"])
    first.close()
    again = build_session(texts, ["other", "eye"], ["eye"], **params)
    assert again.loop.store.path == former and again.loop.labels == {0: "other", 1: "eye"}
    assert again.snapshot()["progress"]["store"] == former.name
    again.close()
