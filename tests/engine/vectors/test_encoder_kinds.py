"""The encoder kinds (fast, minilm, onnx, onnx-int8, a local folder, any object with encode),
their local builds, and what an encode does with bad input or a failing encoder.

Real models run on real text of the bundled datasets. The ONNX builds take seconds and the
``fast`` distillation minutes, once per machine: they are kept in the default models folder
(``$ANCHORAL_CACHE/models``) like a user's, and the test that needs ``fast`` is marked slow.
"""

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from anchoral_widget.data.datasets import load_dataset
from anchoral_widget.engine.vectors import encoder as encoder_module
from anchoral_widget.engine.vectors import encoder_kinds, runners
from anchoral_widget.engine.vectors.encoder import Encoder, make_encoder, models_dir
from anchoral_widget.engine.vectors.encoder_kinds import DEFAULT_ENCODER, NAMES, default_model_path
from anchoral_widget.errors import AnchorALError, InputError


@pytest.fixture(scope="module")
def icd10_texts():
    data = load_dataset("icd10-eye", seed=0, max_size=2000)
    return list(data.texts), np.asarray(data.labels), list(data.minority)


@pytest.fixture(scope="module")
def minilm_reference(icd10_texts):
    texts = icd10_texts[0][:300]
    return Encoder("minilm", cache_dir=False, progress=False, device="cpu").encode(texts)


@pytest.fixture(scope="module")
def tiny_static(tmp_path_factory):
    """A model2vec folder with the bundled tokenizer and a random 8-d table: exact sums to check."""
    folder = tmp_path_factory.mktemp("tiny-static")
    shutil.copy(default_model_path() / "tokenizer.json", folder / "tokenizer.json")
    vocab = json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]
    table = np.random.default_rng(0).normal(size=(len(vocab), 8)).astype(np.float32)
    save_file({"embeddings": table}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}))
    return folder, table, vocab


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _refuse_build(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was built or loaded")

    monkeypatch.setattr(encoder_kinds, "build_model", refuse)
    monkeypatch.setattr(runners, "load_runner", refuse)


# ---- names, folders, objects ------------------------------------------------------------------


def test_names_are_known_without_building_anything(monkeypatch, tmp_path):
    _refuse_build(monkeypatch)
    assert Encoder().name == DEFAULT_ENCODER
    for name, (kind, dim, _) in NAMES.items():
        enc = Encoder(name, cache_dir=tmp_path)
        assert (enc.name, enc.spec.kind, enc.dim) == (name, kind, dim)
        assert enc.model_path == default_model_path()
        assert enc.cache_path(["a text"]).parent == tmp_path / "embeddings"
    ids = {Encoder(name).model_id for name in NAMES}
    assert len(ids) == len(NAMES)  # each kind caches its own vectors
    assert Encoder("minilm").model_id == Encoder(default_model_path()).model_id  # a name for the folder


def test_bad_names_and_objects_are_refused():
    with pytest.raises(InputError, match="not a local folder nor one of the names fast, minilm"):
        Encoder("fasst")
    with pytest.raises(InputError, match="name .* or a local folder, got int"):
        Encoder(3)
    with pytest.raises(InputError, match="object with encode"):
        make_encoder(3.5)
    with pytest.raises(InputError, match="batch_size"):
        Encoder("fast", batch_size=0)


def test_make_encoder_takes_names_folders_and_objects(tiny_static):
    class Mine:
        def encode(self, texts):
            return np.ones((len(texts), 2))

    mine = Mine()
    assert make_encoder(mine) is mine
    with pytest.raises(TypeError, match="progress"):
        make_encoder(mine, progress=False)
    enc = make_encoder("minilm", progress=False)
    assert isinstance(enc, Encoder) and enc.name == "minilm" and enc.progress is False
    assert make_encoder(None).name == DEFAULT_ENCODER
    folder = make_encoder(tiny_static[0])
    assert folder.spec.kind == "static" and folder.spec.name is None and folder.name == tiny_static[0].name


def test_derived_identity_follows_recipe_and_source(tmp_path):
    source = tmp_path / "model"
    source.mkdir()
    (source / "config.json").write_text("{}")
    spec = encoder_kinds.EncoderSpec("fast", "static", source, 256)
    first = encoder_kinds.model_identity(spec)
    assert first.startswith("fast-") and first == encoder_kinds.model_identity(spec)
    assert encoder_kinds.model_identity(encoder_kinds.EncoderSpec("onnx", "onnx", source, 384)) != first
    (source / "config.json").write_text('{"changed": 1}')
    assert encoder_kinds.model_identity(spec) != first


# ---- builds -----------------------------------------------------------------------------------


def _fake_distil(calls, fail=False):
    def distil(source, out, progress):
        calls.append(out)
        (out / "model.safetensors").write_bytes(b"half")
        if fail:
            raise KeyboardInterrupt  # an interrupted build, as a kernel restart would
        (out / "config.json").write_text("{}")

    return distil


def test_a_build_happens_once_and_an_interrupted_one_leaves_nothing(tmp_path, monkeypatch, capsys):
    spec = encoder_kinds.resolve("fast")
    calls = []
    monkeypatch.setattr(encoder_kinds, "_distil", _fake_distil(calls, fail=True))
    with pytest.raises(KeyboardInterrupt):
        encoder_kinds.build_model(spec, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []  # no half-built folder, no temporary left

    monkeypatch.setattr(encoder_kinds, "_distil", _fake_distil(calls))
    folder = encoder_kinds.build_model(spec, tmp_path, progress=True)
    assert folder.name == encoder_kinds.model_identity(spec) and (folder / "config.json").is_file()
    assert "building the 'fast' encoder" in capsys.readouterr().err
    assert encoder_kinds.build_model(spec, tmp_path) == folder and len(calls) == 2  # not built again
    info = json.loads((folder / "anchoral-build.json").read_text())
    assert info["recipe"]["pca_dims"] == 256 and info["source"] == str(default_model_path())

    # a folder without its build record (copied in part, say) is built again
    (folder / "anchoral-build.json").unlink()
    assert encoder_kinds.build_model(spec, tmp_path, progress=False) == folder and len(calls) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_an_encoder_knows_whether_its_first_encode_builds_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ANCHORAL_CACHE", str(tmp_path))
    monkeypatch.setattr(encoder_kinds, "_distil", _fake_distil([]))
    assert Encoder("fast").needs_build and not encoder_kinds.is_built(encoder_kinds.resolve("fast"), models_dir())
    assert not Encoder("minilm").needs_build  # the bundled model itself
    encoder_kinds.build_model(encoder_kinds.resolve("fast"), models_dir(), progress=False)
    assert not Encoder("fast").needs_build
    assert Encoder("onnx").needs_build  # each derived model on its own


def test_models_live_in_the_default_cache_whatever_the_encoder_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ANCHORAL_CACHE", str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env" / "models"
    built = []
    monkeypatch.setattr(encoder_kinds, "build_model", lambda spec, root, progress: built.append(root) or root)
    monkeypatch.setattr(runners, "load_runner", lambda spec, folder, device, threads: None)
    Encoder("fast", cache_dir=tmp_path / "elsewhere")._load_model()
    assert built == [tmp_path / "env" / "models"]


def test_a_background_encoder_asks_its_runner_for_fewer_threads(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(encoder_kinds, "build_model", lambda spec, root, progress: root)
    monkeypatch.setattr(runners, "load_runner", lambda spec, folder, device, threads: asked.append(threads))
    Encoder("onnx", cache_dir=False, threads=1)._load_model()
    Encoder("onnx", cache_dir=False)._load_model()
    assert asked == [1, None]
    with pytest.raises(InputError, match="threads must be a positive integer or None, got 0"):
        Encoder("onnx", threads=0)


# ---- static embeddings ------------------------------------------------------------------------


def test_static_folder_is_the_mean_of_its_token_vectors(tiny_static):
    folder, table, vocab = tiny_static
    enc = Encoder(folder, cache_dir=False, progress=False)
    assert enc.dim == 8
    out = enc.encode(["the cat", "cat the", "cat 🙂", "🙂🙂", "the " * 2000])
    expected = _unit(table[vocab["the"]] + table[vocab["cat"]])
    np.testing.assert_allclose(out[0], expected, atol=1e-6)
    np.testing.assert_allclose(out[1], expected, atol=1e-6)  # a bag of tokens
    np.testing.assert_allclose(out[2], _unit(table[vocab["cat"]]), atol=1e-6)  # unknown tokens dropped
    np.testing.assert_allclose(out[3], _unit(table[vocab["[UNK]"]]), atol=1e-6)  # only unknown: [UNK]'s vector
    np.testing.assert_allclose(out[4], _unit(table[vocab["the"]]), atol=1e-5)  # cut at 512 tokens, still "the"
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_static_vectors_do_not_depend_on_the_batch(tiny_static, icd10_texts):
    texts = icd10_texts[0][:500]
    whole = Encoder(tiny_static[0], cache_dir=False, progress=False).encode(texts)
    pieces = Encoder(tiny_static[0], cache_dir=False, progress=False, batch_size=7).encode(texts)
    np.testing.assert_allclose(whole, pieces, atol=1e-6)


@pytest.mark.slow
def test_fast_encoder_on_real_text(icd10_texts, minilm_reference):
    """Distilled once per machine (minutes on 2 cores): kept in the models folder afterwards."""
    texts, labels, minority = icd10_texts
    enc = Encoder("fast", cache_dir=False, progress=False)
    X = enc.encode(texts)
    assert X.shape == (len(texts), 256) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    vecs = enc.encode(["A cat is sleeping on the sofa.", "A kitten naps on the couch.", "Interest rates rose."])
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    # a minority item's nearest neighbours hold far more minority than the pool's 1% (MiniLM: about
    # half of them, this encoder about a fifth: measured in benchmarks/encoders.py)
    is_min = np.isin(labels, minority)
    sims = X[is_min] @ X.T
    sims[np.arange(is_min.sum()), np.flatnonzero(is_min)] = -np.inf  # not itself
    nn = np.argsort(-sims, axis=1)[:, :10]
    assert is_min[nn].mean() > 0.1
    # and it agrees with MiniLM on who is near whom, more than chance by far
    ref = minilm_reference
    Xr = X[: len(ref)]
    mine, theirs = np.argsort(-(Xr @ Xr.T), axis=1)[:, 1:11], np.argsort(-(ref @ ref.T), axis=1)[:, 1:11]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(mine, theirs)])
    assert recall > 0.3
    # the built model is a model2vec folder: usable by path too
    folder = models_dir() / enc.model_id
    np.testing.assert_allclose(Encoder(folder, cache_dir=False, progress=False).encode(texts[:50]), X[:50], atol=1e-6)


# ---- ONNX -------------------------------------------------------------------------------------


def test_onnx_export_equals_minilm(icd10_texts, minilm_reference):
    texts = icd10_texts[0][: len(minilm_reference)]
    X = Encoder("onnx", cache_dir=False, progress=False, device="cpu").encode(texts)
    assert X.shape == minilm_reference.shape
    np.testing.assert_allclose(X, minilm_reference, atol=2e-5)


def test_onnx_int8_stays_close_to_minilm(icd10_texts, minilm_reference):
    texts = icd10_texts[0][: len(minilm_reference)]
    X = Encoder("onnx-int8", cache_dir=False, progress=False, device="cpu").encode(texts)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    cos = np.sum(X * minilm_reference, axis=1)
    assert cos.min() > 0.8 and cos.mean() > 0.9


# ---- bad input and failing encoders -----------------------------------------------------------


class Runner:
    """A stand-in model: a text's vector is its length and its first letter, with a hook to fail."""

    device = "cpu"
    dim = 2

    def __init__(self, fail_at=None, result=None):
        self.calls = []
        self.fail_at = fail_at
        self.result = result

    def encode(self, texts):
        self.calls.append(list(texts))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("the model fell over")
        if self.result is not None:
            return self.result(texts)
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def _with_runner(monkeypatch, runner):
    monkeypatch.setattr(Encoder, "_load_model", lambda self: runner)
    return runner


def _stand_in(tmp_path, **kwargs):
    enc = Encoder("minilm", cache_dir=tmp_path, progress=False, chunk_size=4, batch_size=2, **kwargs)
    enc._dim = 2
    return enc


TEXTS = [f"text number {i}" + "!" * i for i in range(10)]


def test_an_encoder_that_fails_half_way_resumes_where_it_stopped(tmp_path, monkeypatch):
    runner = _with_runner(monkeypatch, Runner(fail_at=4))  # batch 4 = second half of chunk 1
    with pytest.raises(RuntimeError, match="fell over"):
        _stand_in(tmp_path).encode(TEXTS)
    parts = _stand_in(tmp_path).cache_path(TEXTS).with_suffix(".parts")
    assert sorted(p.name for p in parts.glob("0*.npy")) == ["000000.npy"]  # the finished chunk only

    runner = _with_runner(monkeypatch, Runner())
    out = _stand_in(tmp_path).encode(TEXTS)
    assert [t for call in runner.calls for t in call] == sorted(TEXTS[4:8], key=len, reverse=True) + sorted(
        TEXTS[8:], key=len, reverse=True
    )  # chunk 0 was not encoded again
    expected = _unit(np.array([[len(t), ord(t[0])] for t in TEXTS], dtype=np.float32))
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize(
    "result, message",
    [
        (lambda texts: np.full((len(texts), 2), np.nan, dtype=np.float32), "no direction"),
        (lambda texts: np.zeros((len(texts), 2), dtype=np.float32), "no direction"),
        (lambda texts: np.ones((len(texts), 3), dtype=np.float32), "returned shape"),
        (lambda texts: np.ones((len(texts) + 1, 2), dtype=np.float32), "returned shape"),
    ],
)
def test_bad_vectors_are_refused_and_never_cached(tmp_path, monkeypatch, result, message):
    _with_runner(monkeypatch, Runner(result=result))
    with pytest.raises(AnchorALError, match=message):
        _stand_in(tmp_path).encode(TEXTS)
    parts = _stand_in(tmp_path).cache_path(TEXTS).with_suffix(".parts")
    assert not list(parts.glob("0*.npy"))
    _with_runner(monkeypatch, Runner())
    assert _stand_in(tmp_path).encode(TEXTS).shape == (10, 2)


def test_a_pool_of_one_text_warns_and_encodes_it_once(tmp_path, monkeypatch):
    runner = _with_runner(monkeypatch, Runner())
    with pytest.warns(UserWarning, match="all 9 texts are the same text"):
        out = _stand_in(tmp_path).encode(["same"] * 9)
    assert runner.calls == [["same"]] * 3  # once per chunk of 4
    assert np.all(out == out[0])


def test_repeats_within_a_chunk_are_encoded_once(tmp_path, monkeypatch):
    runner = _with_runner(monkeypatch, Runner())
    texts = ["a", "bb", "a", "ccc", "bb", "a"]
    out = Encoder("minilm", cache_dir=False, progress=False, batch_size=2)
    out._dim = 2
    X = out.encode(texts)
    assert sorted(t for call in runner.calls for t in call) == ["a", "bb", "ccc"]
    np.testing.assert_array_equal(X[0], X[2])
    np.testing.assert_array_equal(X[1], X[4])


def test_very_long_texts_warn_and_are_encoded(tiny_static):
    enc = Encoder(tiny_static[0], cache_dir=False, progress=False)
    long = "the cat sat on the mat. " * 5000  # 120,000 characters
    with pytest.warns(
        UserWarning, match=r"1 texts are longer than 10,000 characters \(longest 120,000\), first rows \[1\]"
    ):
        out = enc.encode(["short", long])
    np.testing.assert_allclose(out[1], enc.encode([long[:5000]])[0], atol=1e-6)  # both cut at 512 tokens


@pytest.mark.parametrize("name", list(NAMES))
@pytest.mark.parametrize(
    "texts, message",
    [([], "empty"), (["fine", None], "not strings"), (["fine", " "], "empty or whitespace")],
)
def test_bad_texts_are_refused_before_any_build(monkeypatch, name, texts, message):
    _refuse_build(monkeypatch)
    with pytest.raises(InputError, match=message):
        Encoder(name, cache_dir=False).encode(texts)


def test_module_encode_takes_a_name(tiny_static):
    out = encoder_module.encode(["the cat"], model=tiny_static[0], cache_dir=False, progress=False)
    assert out.shape == (1, 8)


# ---- GPU --------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_minilm_uses_the_gpu_in_half_precision(icd10_texts, minilm_reference):
    import torch

    texts = icd10_texts[0][: len(minilm_reference)]
    enc = Encoder("minilm", cache_dir=False, progress=False)
    X = enc.encode(texts)
    model = enc._get_model()
    assert model.device.startswith("cuda") and enc._batch(model) == 512
    assert next(model.model.parameters()).dtype == torch.float16
    cos = np.sum(X * minilm_reference, axis=1)
    assert cos.min() > 0.999
