"""Building a session: its arguments checked before anything is encoded, the same seed the same
first batch, an existing loop taken over, one copy of the texts, one lock per part."""

import threading

import pytest
from sessions import B, batch_ids, eye_pool, make, seeds

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.labeller import LabelSession
from anchoral_widget.session.startup import build_session


@pytest.fixture
def data():
    return eye_pool()


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


def test_a_misspelt_keyword_is_refused_before_the_pool_is_encoded(data):
    class Untouchable:
        def encode(self, texts):
            raise AssertionError("encoded before the arguments were checked")

    with pytest.raises(TypeError, match="unknown argument 'batch_sise'; the loop takes anchor_strategy"):
        build_session(data[2], ["other", "eye"], encoder=Untouchable(), batch_sise=3)


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
