"""The session's background fine-tuning: one fit at a time, the newest labelled set next,
cancellable, paused while a batch is chosen, faults kept off the last good model."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import clustered_pool
from sessions import B, SlowLearner, make

from anchoral_widget.engine.learners.learner import EmbeddingClassifier, Remembering
from anchoral_widget.errors import InputError
from anchoral_widget.session.trainer import FitRequest, Trainer, label_ahead

HERE = Path(__file__).parent


def request(n, seed=0):
    """A fit request on ``n`` items of a small pool, two of them of the minority class 1."""
    X, _, _ = clustered_pool(n=200, seed=1)
    y = np.r_[1, 1, np.zeros(n - 2, dtype=np.int64)]
    return FitRequest(X[:n], y, 2, seed, [1], key=f"set-{n}")


def trainer_for(learner, **kw):
    errors, changes = [], []
    trainer = Trainer(learner, on_error=errors.append, on_change=lambda: changes.append(1), **kw)
    trainer.errors, trainer.changes = errors, changes
    return trainer


def test_one_fit_at_a_time_and_the_newest_labelled_set_next():
    learner = SlowLearner()
    learner.gate.clear()
    trainer = trainer_for(learner)
    trainer.request(request(10))
    assert learner.started.wait(10) and trainer.fitting == 10
    trainer.request(request(10))  # running already: nothing new
    trainer.request(request(20))
    trainer.request(request(30))  # replaces 20, which never runs
    learner.gate.set()
    assert trainer.idle(10)
    assert learner.fits == [10, 30]
    assert trainer.latest.labelled == 30 and trainer.fitting is None
    assert [f["labelled"] for f in trainer.fits] == [10, 30]
    trainer.request(request(30))  # fitted already
    assert trainer.idle(10) and learner.fits == [10, 30]
    assert trainer.close(wait=5)


def test_the_learner_gets_the_minority_classes_and_the_last_model_to_warm_start_from():
    learner = SlowLearner()
    trainer = trainer_for(learner)
    trainer.request(request(10))
    assert trainer.idle(10)
    first = trainer.latest.model
    trainer.request(request(12))
    assert trainer.idle(10)
    assert learner.minority == [[1], [1]]
    assert learner.inits == [None, first], "the last model fitted: a learner with warm start goes on from it"
    trainer.close()


def test_strict_waits_for_its_own_fit_and_is_told_how_long():
    learner = SlowLearner()
    learner.gate.clear()
    trainer = trainer_for(learner)
    threading.Timer(0.3, learner.gate.set).start()
    trained = trainer.wait_for(request(10))
    assert trained.labelled == 10 and trained.waited >= 0.25
    assert trained.model is trainer.latest.model
    assert not isinstance(trained.model, Remembering), "an embeddings learner is cheap to ask twice"
    trainer.close()


def test_a_failed_fit_keeps_the_last_good_model_and_says_why():
    learner = SlowLearner()
    trainer = trainer_for(learner)
    good = trainer.wait_for(request(10))
    learner.fail = 1
    trainer.request(request(20))
    assert trainer.idle(10)
    assert trainer.latest.model is good.model, "the session goes on with the last good model"
    assert [str(e) for e in trainer.errors] == ["CUDA out of memory"]
    with pytest.raises(RuntimeError, match="out of memory"):  # strict mode: raised where it waits
        learner.fail = 1
        trainer.wait_for(request(30))
    again = trainer.wait_for(request(30))  # asked again: tried again
    assert again.labelled == 30 and learner.fits == [10, 20, 30, 30]
    trainer.close()


def test_close_cancels_the_running_fit_at_its_next_checkpoint():
    learner = SlowLearner()
    learner.gate.clear()
    trainer = trainer_for(learner)
    trainer.request(request(10))
    assert learner.started.wait(10)
    started = time.perf_counter()
    assert trainer.close(wait=5), "the thread ended"
    assert time.perf_counter() - started < 2
    assert trainer.latest is None and trainer.errors == [], "a cancelled fit is no error"
    trainer.request(request(20))  # closed: nothing runs
    assert learner.fits == [10]
    assert trainer.wait_for(request(20)) is None


def test_paused_holds_a_fit_between_its_steps():
    learner = SlowLearner()
    learner.gate.clear()
    trainer = trainer_for(learner)
    trainer.request(request(10))
    assert learner.started.wait(10)
    with trainer.paused():
        time.sleep(0.1)
        steps = learner.steps
        learner.gate.set()
        time.sleep(0.3)
        assert learner.steps <= steps + 1 and trainer.latest is None, "held at its checkpoint"
    assert trainer.idle(10) and trainer.latest.labelled == 10
    trainer.close()


def test_after_each_fit_the_model_scores_ahead_on_the_trainers_thread():
    seen = []
    learner = SlowLearner()
    trainer = trainer_for(
        learner, prepare=lambda model, checkpoint, ready: seen.append((model, threading.current_thread().name))
    )
    trainer.request(request(10))
    assert trainer.idle(10), "idle once the scoring ahead is done too"
    assert seen == [(trainer.latest.model, "anchoral-trainer")]
    assert trainer.ready is trainer.latest, "a prepare that returns makes the model ready"
    trainer.close()


def test_label_ahead_proposes_with_a_new_model_only_once_it_has_scored_ahead():
    """Until the new model has scored the last subpool, the model before it (or the stand-in)
    proposes: the new one would score that subpool while the person waits."""
    scoring, go_on = threading.Event(), threading.Event()

    def prepare(model, checkpoint, ready):
        scoring.set()
        go_on.wait(10)
        ready()
        go_on.clear()
        go_on.wait(10)  # the rest of the scoring ahead: the model proposes meanwhile

    trainer = trainer_for(SlowLearner(), prepare=prepare)
    trainer.request(request(10))
    assert scoring.wait(10)
    assert trainer.latest.labelled == 10 and trainer.ready is None, "fitted, not ready"
    assert not trainer.idle(0.05)
    go_on.set()
    deadline = time.monotonic() + 10
    while trainer.ready is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trainer.ready is trainer.latest and not trainer.idle(0.05), "ready before the scoring ahead ends"
    go_on.set()
    assert trainer.idle(10)
    trainer.close()


def test_label_ahead_by_default_only_for_a_learner_that_reads_text():
    from anchoral_widget.engine.learners.transformer import TransformerClassifier

    assert label_ahead("auto", TransformerClassifier()) is True
    assert label_ahead("auto", EmbeddingClassifier()) is False
    assert label_ahead("ahead", EmbeddingClassifier()) is True
    assert label_ahead("strict", TransformerClassifier()) is False
    with pytest.raises(InputError, match="unknown training 'lazy'"):
        label_ahead("lazy", EmbeddingClassifier())


def test_a_kernel_killed_mid_fit_loses_no_label_and_the_next_session_resumes(tmp_path):
    store = tmp_path / "labels.db"
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    child = subprocess.Popen(
        [sys.executable, str(HERE / "trainer_child.py"), str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    for line in child.stdout:
        lines.append(line.split())
        if line.startswith("FITTING"):
            break
    assert lines and lines[-1][0] == "FITTING", child.stderr.read()
    child.send_signal(signal.SIGKILL)  # mid-fit, the next batch on screen
    child.communicate()
    submitted = [int(i) for i in lines[0][1:]]
    on_screen = [int(i) for i in lines[1][1:]]
    assert lines[-1] == ["FITTING", str(2 + B)]

    X, y, _ = clustered_pool(n=400, seed=1)
    learner = SlowLearner()
    again = make((X, y, [f"text {i}" for i in range(len(y))]), store=store, learner=learner, training="ahead")
    assert set(submitted) <= set(again.labels.id) and len(again.labels) == 2 + B, "no label lost"
    cards = again.snapshot()["batch"]
    assert [c["id"] for c in cards] == on_screen, "the batch on screen comes back"
    assert {c["model_labelled"] for c in cards} == {2}, "and says which model proposed it"
    assert again._trainer.idle(10) and learner.fits == [2 + B], "the fit that was cut off runs again"
    again.close(wait=True)


def test_scoring_ahead_takes_the_last_subpool_then_the_test_set_then_earlier_subpools():
    from types import SimpleNamespace

    from conftest import Counting

    from anchoral_widget.session.trainer import score_ahead

    texts = [f"text {i}" for i in range(10)]
    learner = SimpleNamespace(inputs="texts")
    loop = SimpleNamespace(
        pool=SimpleNamespace(features=lambda _learner: texts), learner=learner, test=(["held out"], ["a"])
    )
    inner = Counting()
    model = Remembering(inner)
    checks = []
    score_ahead(model, loop, [np.array([1, 2]), np.array([5, 1]), np.array([3, 2])], lambda: checks.append(1))
    assert list(dict.fromkeys(inner.scored)) == ["text 3", "text 2", "held out", "text 5", "text 1"], "in that order"
    assert model.computed == 5, "each once"
    assert checks, "between chunks, so that a proposal or a close can step in"
    score_ahead(EmbeddingClassifier(), loop, [np.array([1])], lambda: None)  # nothing to remember: nothing done


def test_the_session_fits_against_the_same_sample_of_the_pool_as_the_loop():
    from anchoral_widget.engine.loop.active import ActiveLoop

    X, y, _ = clustered_pool(n=1500)
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], subpool_size=200, index="exact", seed=2)
    ids = np.r_[np.flatnonzero(y == "rare")[:12], np.flatnonzero(y == "other")[:80]]
    loop.label(ids, y[ids])
    request = FitRequest.of(loop)
    rows = request.unlabelled["unlabelled"]
    assert np.array_equal(rows, X[loop.unlabelled_sample(2000)]) and len(rows) > 500
    trainer = trainer_for(loop.learner)
    in_session = trainer.wait_for(request).model
    in_loop = loop.train()
    assert hasattr(in_session, "predict"), "fitted against the pool's sample"
    assert np.array_equal(in_session.predict_proba(X), in_loop.predict_proba(X))
    trainer.close()
