import json
import shutil

import numpy as np
import pytest

from anchoral_widget.engine.vectors import encoder as encoder_module
from anchoral_widget.engine.vectors.encoder import Encoder, default_model_path
from anchoral_widget.engine.vectors.texts import fingerprint_texts
from anchoral_widget.errors import InputError

SUBJECTS = ["The cat", "A farmer", "My neighbour", "The senator"]
ACTIONS = ["planted tomatoes", "sold the old car", "fixed a pipe", "wrote a letter", "baked bread"]
TEXTS = [f"{s} {a} on day {i}." for i, (s, a) in enumerate((s, a) for a in ACTIONS for s in SUBJECTS)]
CHUNK = 4  # 20 texts -> 5 chunks


def chunk(i):
    return TEXTS[i * CHUNK : (i + 1) * CHUNK]


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module", autouse=True)
def shared_model():
    """Load the real model once for the module: each test builds fresh Encoders."""
    loaded = []
    original = Encoder._load_model

    def load_once(self):
        if not loaded:
            loaded.append(original(self))
        return loaded[0]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Encoder, "_load_model", load_once)
        yield


@pytest.fixture(scope="module")
def reference():
    """Uncached embeddings of TEXTS, the ground truth for cached and resumed encodes."""
    return Encoder("minilm", cache_dir=False, progress=False, device="cpu").encode(TEXTS)


def _spy(monkeypatch, fail_on_call=None):
    """Record the texts of every chunk encoded; optionally stop at the given call (1-based)."""
    calls = []
    original = Encoder._encode_chunk

    def spy(self, texts, bar=None):
        calls.append(list(texts))
        if fail_on_call is not None and len(calls) == fail_on_call:
            raise Interrupted
        return original(self, texts, bar)

    monkeypatch.setattr(Encoder, "_encode_chunk", spy)
    return calls


def _encoder(tmp_path):
    return Encoder("minilm", cache_dir=tmp_path, progress=False, device="cpu", chunk_size=CHUNK)


def test_shape_dtype_and_unit_norms(reference):
    assert len(TEXTS) == 20 and len(set(TEXTS)) == 20
    assert reference.shape == (20, 384)
    assert reference.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(reference, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(reference).all()


def test_similar_sentences_are_closer_than_unrelated_ones():
    vecs = Encoder("minilm", cache_dir=False, progress=False, device="cpu").encode(
        ["A cat is sleeping on the sofa.", "A kitten naps on the couch.", "Interest rates rose by half a point."]
    )
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2] + 0.3


def test_cache_hit_does_not_load_the_model(tmp_path, monkeypatch, reference):
    first = _encoder(tmp_path)
    out = first.encode(TEXTS)
    np.testing.assert_allclose(out, reference, atol=1e-5)
    path = first.cache_path(TEXTS)
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert not path.with_suffix(".parts").exists()  # chunks are gone once consolidated

    def refuse(self):
        raise AssertionError("the model was loaded for a cached encode")

    monkeypatch.setattr(Encoder, "_load_model", refuse)
    again = _encoder(tmp_path)
    np.testing.assert_array_equal(again.encode(TEXTS), out)
    assert again.dim == 384
    mapped = again.encode(TEXTS, mmap=True)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, out)


def test_an_uncached_encode_neither_reads_nor_writes_the_cache(tmp_path, reference):
    encoder = _encoder(tmp_path)
    out = encoder.encode(TEXTS[:5], cache=False)
    np.testing.assert_allclose(out, reference[:5], atol=1e-5)
    assert not (tmp_path / "embeddings").exists() or not any((tmp_path / "embeddings").iterdir())
    encoder.encode(TEXTS[:5])  # now cached
    calls = []
    original = encoder._encode_chunk
    encoder._encode_chunk = lambda texts, bar=None: calls.append(texts) or original(texts, bar)
    np.testing.assert_allclose(encoder.encode(TEXTS[:5], cache=False), out, atol=1e-6)
    assert calls == [TEXTS[:5]], "encoded again, not read from the cache"


def test_cache_key_depends_on_texts_order_and_model(tmp_path):
    enc = _encoder(tmp_path)
    assert enc.cache_path(TEXTS) == _encoder(tmp_path).cache_path(TEXTS)
    assert enc.cache_path(TEXTS) != enc.cache_path(TEXTS[::-1])
    assert fingerprint_texts(["ab", "c"]) != fingerprint_texts(["a", "bc"])
    assert fingerprint_texts(TEXTS) == fingerprint_texts(tuple(TEXTS))
    # a copy of the model in another folder is another identity
    other = tmp_path / "model-copy"
    shutil.copytree(default_model_path(), other)
    assert Encoder(other, cache_dir=tmp_path).model_id != enc.model_id


def test_interrupted_encode_resumes_at_the_missing_chunks(tmp_path, monkeypatch, reference):
    calls = _spy(monkeypatch, fail_on_call=3)
    with pytest.raises(Interrupted):
        _encoder(tmp_path).encode(TEXTS)
    assert len(calls) == 3
    parts = _encoder(tmp_path).cache_path(TEXTS).with_suffix(".parts")
    assert sorted(p.name for p in parts.glob("0*.npy")) == ["000000.npy", "000001.npy"]
    assert not _encoder(tmp_path).cache_path(TEXTS).exists()

    calls.clear()
    monkeypatch.undo()
    calls = _spy(monkeypatch)
    out = _encoder(tmp_path).encode(TEXTS)
    assert calls == [chunk(2), chunk(3), chunk(4)]
    np.testing.assert_allclose(out, reference, atol=1e-5)


def test_each_chunk_is_handed_over_once_as_it_is_done_and_a_resumed_encode_hands_the_cached_ones(
    tmp_path, monkeypatch, reference
):
    heard = []
    calls = _spy(monkeypatch, fail_on_call=3)
    with pytest.raises(Interrupted):
        _encoder(tmp_path).encode(TEXTS, on_chunk=lambda first, rows: heard.append((first, np.array(rows))))
    assert [first for first, _ in heard] == [0, CHUNK]  # the two chunks written before the stop
    monkeypatch.undo()
    calls = _spy(monkeypatch)

    def on_chunk(first, rows):
        heard.append((first, np.array(rows)))
        heard_before_encoding.append(len(calls))

    heard.clear()
    heard_before_encoding = []
    out = _encoder(tmp_path).encode(TEXTS, on_chunk=on_chunk)
    assert [first for first, _ in heard] == [0, 4, 8, 12, 16]  # every row once, in row order
    assert heard_before_encoding == [0, 0, 1, 2, 3]  # the cached ones before anything is encoded
    np.testing.assert_allclose(np.concatenate([rows for _, rows in heard]), out)
    np.testing.assert_allclose(out, reference, atol=1e-5)
    heard.clear()
    _encoder(tmp_path).encode(TEXTS, on_chunk=on_chunk)
    assert heard == []  # found whole in the cache: the caller has it all at once


def test_damaged_chunks_are_encoded_again(tmp_path, monkeypatch, reference):
    _spy(monkeypatch, fail_on_call=5)
    with pytest.raises(Interrupted):
        _encoder(tmp_path).encode(TEXTS)
    parts = _encoder(tmp_path).cache_path(TEXTS).with_suffix(".parts")
    assert len(list(parts.glob("0*.npy"))) == 4
    raw = (parts / "000000.npy").read_bytes()
    (parts / "000000.npy").write_bytes(raw[: len(raw) // 2])
    raw = bytearray((parts / "000001.npy").read_bytes())
    raw[-7] ^= 0xFF  # same size, one value changed: only the checksum can tell
    (parts / "000001.npy").write_bytes(bytes(raw))
    (parts / "000002.json").unlink()

    monkeypatch.undo()
    calls = _spy(monkeypatch)
    out = _encoder(tmp_path).encode(TEXTS)
    assert calls == [chunk(0), chunk(1), chunk(2), chunk(4)]  # chunk 3 was intact
    np.testing.assert_allclose(out, reference, atol=1e-5)


def _flip_last_byte(path):
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


def _bad_manifest(path):
    meta = path.with_suffix(".json")
    info = json.loads(meta.read_text())
    info["rows"] += 1
    meta.write_text(json.dumps(info))


def test_damaged_cache_file_is_encoded_again(tmp_path, monkeypatch, reference):
    texts = TEXTS[:8]  # two chunks: enough, and four encodes stay quick
    _encoder(tmp_path).encode(texts)
    path = _encoder(tmp_path).cache_path(texts)
    calls = _spy(monkeypatch)
    for damage in (_flip_last_byte, _truncate, _bad_manifest):
        damage(path)
        calls.clear()
        out = _encoder(tmp_path).encode(texts)
        assert calls == [chunk(0), chunk(1)], damage.__name__
        np.testing.assert_allclose(out, reference[:8], atol=1e-5)
    # and the repaired file is used again
    calls.clear()
    np.testing.assert_array_equal(_encoder(tmp_path).encode(texts), out)
    assert calls == []


def test_changed_chunk_size_starts_over_cleanly(tmp_path, monkeypatch, reference):
    _spy(monkeypatch, fail_on_call=3)
    with pytest.raises(Interrupted):
        _encoder(tmp_path).encode(TEXTS)
    monkeypatch.undo()
    calls = _spy(monkeypatch)
    enc = Encoder("minilm", cache_dir=tmp_path, progress=False, device="cpu", chunk_size=8)
    out = enc.encode(TEXTS)
    assert calls == [TEXTS[0:8], TEXTS[8:16], TEXTS[16:20]]
    np.testing.assert_allclose(out, reference, atol=1e-5)


@pytest.mark.parametrize(
    "texts, message",
    [
        ([], "empty"),
        ("one string", "not a single string"),
        (["fine", None, "fine", 3.5], "2 texts are not strings.*\\[1, 3\\]"),
        (["fine", "", "fine", "  \n", "fine"], "2 texts are empty or whitespace only.*\\[1, 3\\]"),
    ],
)
def test_bad_texts_are_refused_before_any_model_load(tmp_path, monkeypatch, texts, message):
    def refuse(self):
        raise AssertionError("the model was loaded for bad input")

    monkeypatch.setattr(Encoder, "_load_model", refuse)
    with pytest.raises(InputError, match=message):
        _encoder(tmp_path).encode(texts)


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="not a local folder.*never downloaded"):
        Encoder("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(InputError, match="batch_size"):
        Encoder(batch_size=0)
    with pytest.raises(InputError, match="cache_dir"):
        Encoder(cache_dir=True)


def test_cache_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ANCHORAL_CACHE", str(tmp_path / "env-cache"))
    assert encoder_module.default_cache_dir() == tmp_path / "env-cache"
    path = Encoder(progress=False).cache_path(TEXTS)
    assert path.parent == tmp_path / "env-cache" / "embeddings"
    assert Encoder(cache_dir=False).cache_path(TEXTS) is None
    monkeypatch.delenv("ANCHORAL_CACHE")
    assert encoder_module.default_cache_dir().parts[-2:] == (".cache", "anchoral-widget")


def test_module_level_encode_matches_encoder(tmp_path, reference):
    out = encoder_module.encode(TEXTS[:5], model="minilm", cache_dir=False, progress=False, device="cpu")
    np.testing.assert_allclose(out, reference[:5], atol=1e-5)
    assert (default_model_path() / "config.json").is_file()
