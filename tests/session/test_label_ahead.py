"""Label-ahead: the fine-tuning runs in the background while the next batch is labelled; the
cards and the status say which model proposed them, a failed fit keeps the last good model."""

import time

import numpy as np
import pytest
from sessions import B, SlowLearner, answer_all, eye_pool, make

from anchoral_widget.errors import InputError


@pytest.fixture
def data():
    return eye_pool()


def slow_session(data, **kw):
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
