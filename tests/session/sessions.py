"""A labelling session driven headless as the front end would: the pool, the learners and the
commands that the session's tests share."""

import threading

import numpy as np
from conftest import clustered_pool

from anchoral_widget.engine.learners.learner import EmbeddingClassifier, make_learner
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


class SlowLearner:
    """The default learner, but a fit waits for ``gate`` (calling its checkpoint meanwhile, as a
    real fit does between steps) and records what it was given. ``fail`` makes the next fits
    raise."""

    inputs = "embeddings"

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.fits, self.inits, self.minority = [], [], []
        self.steps = 0
        self.fail = 0

    def fit(self, X, y, n_classes, seed, *, minority=None, init=None, checkpoint=None):
        self.fits.append(len(y))
        self.inits.append(init)
        self.minority.append(minority)
        self.started.set()
        for _ in range(3):  # a few steps even with the gate open
            checkpoint()
            self.steps += 1
        while not self.gate.wait(0.01):
            checkpoint()
            self.steps += 1
        if self.fail:
            self.fail -= 1
            raise RuntimeError("CUDA out of memory")
        return EmbeddingClassifier().fit(X, y, n_classes, seed)


def eye_pool():
    """400 clustered items; the rare ones' texts say "eye" (what ``KeywordEncoder`` finds)."""
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


def heard_after_a_batch(attr, kind, **kw):
    """A session of :func:`eye_pool` whose first batch is answered and submitted; the messages of
    ``kind`` it sends are collected in the list ``session.<attr>``."""
    session = make(eye_pool(), **kw)
    heard = []
    setattr(session, attr, heard)
    session.on_map(lambda header, buffers: heard.append(header) if header.get("kind") == kind else None)
    session.handle({"kind": "submit", "iteration": answer_all(session)["iteration"]})
    assert session.wait(30)
    return session
