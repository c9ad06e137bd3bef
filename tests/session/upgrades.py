"""The pool, the stand-in encoders and the waits that the encoder upgrade's tests share."""

import time

import numpy as np
from encode_child import HashModel, fake_encoder

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
