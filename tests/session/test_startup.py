"""Starting a session without blocking the notebook: the arguments are checked at once, the pool
is encoded in the background, labelling starts when the pool can serve it, a failure or an
interruption part-way resumes where it stopped, and the encoder is the one named."""

import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from encode_child import HashModel, fake_encoder
from startups import SMALL, TEXTS, N, started

import anchoral_widget as aw
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.startup import start_session

HERE = Path(__file__).resolve().parent


class Gate:
    """An encoder that waits for ``release`` before it encodes anything."""

    def __init__(self):
        self.opened = threading.Event()
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        assert self.opened.wait(30), "the test never opened the gate"
        return HashModel().encode(texts)


class Untouchable:
    def encode(self, texts):
        raise AssertionError("encoded before the arguments were checked")


def stages(session):
    return [e["startup"]["stage"] for e in session.events if "startup" in e]


# ---- returning at once ---------------------------------------------------------------------


def test_a_session_returns_before_the_pool_is_encoded_and_labelling_starts_when_it_is():
    gate = Gate()
    t0 = time.perf_counter()
    session = started(start_session(TEXTS, ["other", "eye"], ["eye"], encoder=gate, **SMALL))
    assert time.perf_counter() - t0 < 1.0
    s = session.snapshot()
    assert s["phase"] == "preparing" and s["batch"] == [] and s["progress"]["pool"] == N
    assert s["progress"]["missing"] == ["other", "eye"]
    gate.opened.set()
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "cold" and "no label yet for 'other', 'eye'" in s["status"]
    assert s["startup"]["stage"] == "ready" and s["startup"]["text"] == ""
    assert set(s["startup"]["seconds"]) >= {"encoding", "pool", "store"}
    assert stages(session)[-1] == "ready" and "encoding" in stages(session)
    session.close()


def test_the_widget_returns_at_once_and_shows_the_start_up():
    gate = Gate()
    t0 = time.perf_counter()
    w = aw.Labeller(TEXTS, classes=["other", "eye"], minority=["eye"], encoder=gate, **SMALL)
    assert time.perf_counter() - t0 < 2.0
    assert w.phase == "preparing" and w.startup["stage"] in ("starting", "encoding")
    gate.opened.set()
    assert w.wait(30)
    assert w.phase == "cold" and w.startup["stage"] == "ready" and w.minority == ["eye"]
    w.close()


class Unbuilt(Gate):
    """An encoder whose model is built on its first encode, as ``fast`` is where bin/setup did not run."""

    needs_build = True


def test_an_encoder_built_on_first_use_says_so_before_it_encodes():
    encoder = Unbuilt()
    session = started(start_session(TEXTS, ["other", "eye"], ["eye"], encoder=encoder, **SMALL))
    deadline = time.monotonic() + 10
    while "building" not in stages(session) and time.monotonic() < deadline:
        time.sleep(0.01)
    shown = [e["startup"] for e in session.events if "startup" in e and e["startup"]["stage"] == "building"]
    assert shown and shown[0]["text"].startswith("building the encoder from the bundled MiniLM, once for this machine")
    assert shown[0]["done"] is None, "a bar that moves without a count"
    encoder.opened.set()
    assert session.wait(30)
    assert stages(session).index("building") < stages(session).index("encoding")
    session.close()


def test_seed_labels_and_a_first_batch_come_after_the_start_up():
    seeds = {0: "eye", 1: "other", 12: "eye", 2: "other"}
    session = started(start_session(TEXTS, ["other", "eye"], ["eye"], encoder=HashModel(), seed_labels=seeds, **SMALL))
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and len(s["batch"]) == 5 and s["progress"]["labelled"] == 4
    assert session.labels.set_index("id").label.to_dict() == seeds
    session.close()


def test_reading_labels_or_the_loop_waits_for_the_pool():
    gate = Gate()
    session = started(start_session(TEXTS, ["other", "eye"], encoder=gate, seed_labels={0: "eye", 1: "other"}, **SMALL))
    threading.Timer(0.3, gate.opened.set).start()
    assert session.labels.id.tolist() == [0, 1]  # waited for the start-up, which stored the seeds
    assert isinstance(session.loop, ActiveLoop)
    session.close(wait=True)


def test_labels_are_refused_until_the_pool_is_ready_and_a_search_waits_for_it():
    gate = Gate()
    session = started(start_session(TEXTS, ["other", "eye"], encoder=gate, **SMALL))
    with pytest.raises(InputError, match="still being prepared"):
        session.handle({"kind": "seed", "ids": [3], "label": "eye"})
    with pytest.raises(InputError, match="no batch|nothing"):
        session.handle({"kind": "submit", "iteration": 0})
    session.handle({"kind": "search", "query": "eye text"})  # queued behind the start-up
    assert session.snapshot()["search"]["busy"]
    gate.opened.set()
    assert session.wait(30)
    search = session.snapshot()["search"]
    assert not search["busy"] and len(search["results"]) == 20 and search["query"] == "eye text"
    session.close()


def test_a_session_closed_while_preparing_starts_nothing_after():
    gate = Gate()
    session = started(start_session(TEXTS, ["other", "eye"], encoder=gate, seed_labels={0: "eye", 1: "other"}, **SMALL))
    session.close()
    gate.opened.set()
    assert session.loop is not None  # the start-up ran to its end
    time.sleep(0.2)
    assert session.snapshot()["batch"] == [] and session.snapshot()["phase"] == "preparing"
    with pytest.raises(InputError, match="closed"):
        session.handle({"kind": "retry"})


# ---- cheap checks at once --------------------------------------------------------------------


CHEAP = [
    ("non-string text", dict(texts=[*TEXTS[:3], None, *TEXTS[4:]]), "not strings"),
    ("empty text", dict(texts=[*TEXTS[:3], " ", *TEXTS[4:]]), "empty or whitespace"),
    ("no classes", dict(classes=None), "classes are needed"),
    ("classes equal as text", dict(classes=[1, "1"]), "differ as text"),
    ("seed of no class", dict(seed_labels={0: "ear"}), "not among the classes"),
    ("seed out of the pool", dict(seed_labels={N: "eye"}), "positions in the pool"),
    ("budget", dict(budget=0), "budget"),
    ("budget beyond the pool", dict(budget=N + 1), "larger than the pool"),
    ("map of the wrong shape", dict(map=np.zeros((3, 2))), "map coordinates"),
    ("embeddings of another pool", dict(embeddings=np.zeros((N - 1, 4), dtype=np.float32)), f"{N} texts but {N - 1}"),
]


@pytest.mark.parametrize("what, change, words", CHEAP, ids=[c[0] for c in CHEAP])
def test_cheap_mistakes_raise_at_once_before_anything_is_encoded(what, change, words):
    args = dict(texts=TEXTS, classes=["other", "eye"], encoder=Untouchable(), **SMALL)
    args.update(change)
    with pytest.raises(InputError, match=words):
        start_session(args.pop("texts"), args.pop("classes"), **args)


def test_a_misspelt_keyword_raises_at_once():
    with pytest.raises(TypeError, match="unknown argument 'batchsize'"):
        aw.Labeller(TEXTS, classes=["other", "eye"], encoder=Untouchable(), batchsize=5)


def test_a_pool_of_one_text_and_very_long_texts_are_warned_about_at_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start_session(["same"] * 50, ["a", "b"], encoder=Untouchable(), **SMALL).close()
        long = [*TEXTS[:-1], "word " * 20_000]
        start_session(long, ["a", "b"], encoder=Untouchable(), **SMALL).close()
    said = [str(w.message) for w in caught]
    assert any("all 50 texts are the same text" in m for m in said)
    assert any("1 texts are longer than 10,000 characters (longest 100,000), first rows [119]" in m for m in said)


def test_a_pool_of_one_text_still_starts(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = started(start_session(["same text"] * 60, ["a", "b"], encoder=HashModel(), **SMALL))
    assert session.wait(30) and session.snapshot()["phase"] == "cold"
    session.close()


# ---- failures and interruptions ---------------------------------------------------------------


def test_an_encoder_that_fails_half_way_says_so_and_retry_resumes_from_the_cache(tmp_path):
    model = HashModel(fail_at=4)  # chunks 0-2 of 8 texts are cached, the 4th call raises
    encoder = fake_encoder(tmp_path / "model", tmp_path / "cache", model)
    session = started(start_session(TEXTS, ["other", "eye"], encoder=encoder, **SMALL))
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "error" and s["status"] == "could not prepare the pool: press Retry"
    assert "the encoder failed after 24 texts (RuntimeError: the encoder ran out of memory)" in s["error"]
    assert "cached: Retry goes on from there" in s["error"]
    assert s["startup"]["stage"] == "error"
    parts = encoder.cache_path(TEXTS).with_suffix(".parts")
    assert sorted(p.name for p in parts.glob("0*.npy")) == ["000000.npy", "000001.npy", "000002.npy"]
    with pytest.raises(InputError, match="could not be prepared"):
        session.loop  # noqa: B018 - reading it is the test

    model.fail_at, model.calls = None, 0
    told = []
    session.on_change(lambda c: told.append(c["startup"]) if "startup" in c else None)
    session.handle({"kind": "retry"})
    assert session.wait(30)
    assert session.snapshot()["phase"] == "cold" and session.snapshot()["error"] == ""
    counts = [t["done"] for t in told if t["stage"] == "encoding" and t["done"] is not None]
    assert counts[0] == 24, "the retry starts from the cached chunks"
    assert model.calls == (N - 24 + 7) // 8
    clean = HashModel().encode(TEXTS)
    np.testing.assert_allclose(session.loop.embeddings, clean, atol=1e-6)
    session.close()


def test_an_encode_killed_part_way_resumes_from_its_last_chunk(tmp_path):
    n = 200
    child = subprocess.Popen(
        [sys.executable, str(HERE / "encode_child.py"), str(tmp_path / "model"), str(tmp_path / "cache"), str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    written = 0
    for line in child.stdout:
        written = int(line.split()[1])
        if written >= 32:  # four chunks of 8 encoded, the last one maybe not yet written
            break
    child.kill()
    child.wait(10)
    texts = [f"text number {i}" for i in range(n)]
    encoder = fake_encoder(tmp_path / "model", tmp_path / "cache", HashModel())
    told = []
    out = encoder.encode(texts, on_progress=lambda done, total: told.append(done))
    assert 24 <= told[0] < n and told[0] % 8 == 0, "found the chunks written before the kill"
    np.testing.assert_allclose(out, HashModel().encode(texts), atol=1e-6)


# ---- which encoder ------------------------------------------------------------------------------


def test_encoder_names_reach_the_engine_and_a_wrong_one_is_refused_at_once():
    from anchoral_widget.engine.vectors.encoder_kinds import DEFAULT_ENCODER

    for name in ("fast", "minilm"):
        session = start_session(TEXTS, ["other", "eye"], encoder=name, **SMALL)
        assert session.encoder.name == name and session.encoder.progress is False
        session.close()
    assert start_session(TEXTS, ["other", "eye"], **SMALL).encoder.name == DEFAULT_ENCODER
    with pytest.raises(InputError, match="nor one of the names"):
        start_session(TEXTS, ["other", "eye"], encoder="fastest", **SMALL)


@pytest.mark.parametrize("dim, name", [(256, "fast"), (384, "minilm"), (7, None)])
def test_precomputed_embeddings_search_with_the_named_encoder_of_their_size(dim, name):
    X = np.random.default_rng(0).normal(size=(N, dim)).astype(np.float32)
    session = started(start_session(TEXTS, ["other", "eye"], embeddings=X, **SMALL))
    assert session.wait(30)
    assert (session.encoder and session.encoder.name) == name
    session.close()
