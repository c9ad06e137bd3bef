"""Encoding on Ray Data: shards written to one memory-mapped file, progress reported, resumable.

One local Ray (one CPU) serves the whole module: its start takes seconds.
"""

import hashlib

import numpy as np
import pytest

from anchoral_widget.engine.vectors.distributed import RayEncoder, encode_with_ray
from anchoral_widget.engine.vectors.shards import open_embeddings
from anchoral_widget.errors import InputError

ray = pytest.importorskip("ray")


def hashing_encoder(dim=8):
    """A tiny deterministic encoder (a text's hash spread over ``dim`` numbers). Made by a
    function, so that Ray pickles the class by value and its workers need not import this file."""

    class Hashing:
        model_id = f"hashing-{dim}"

        def __init__(self):
            self.dim = dim
            self.calls = 0

        def encode(self, texts):
            self.calls += 1
            out = np.empty((len(texts), dim), dtype=np.float32)
            for i, text in enumerate(texts):
                digest = hashlib.sha256(text.encode()).digest()
                out[i] = np.frombuffer(digest[: dim * 2], dtype=np.uint16)[:dim] / 65535.0 + 0.01
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    return Hashing()


@pytest.fixture(scope="module")
def local_ray():
    # Ray gives its node 30 s to register; on a machine busy with other work that can run out,
    # so the start is tried twice before the tests fail.
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024**2)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    yield
    ray.shutdown()


TEXTS = [f"text number {i} about {'eyes' if i % 7 == 0 else 'other things'}" for i in range(300)]


def test_ray_encodes_into_shards_the_loop_memory_maps(local_ray, tmp_path):
    encoder = hashing_encoder()
    seen = []
    mapped = encode_with_ray(
        TEXTS,
        encoder,
        tmp_path / "pool",
        shard_size=64,
        batch_size=32,
        dtype="float32",
        on_progress=lambda done, total: seen.append((done, total)),
        progress=False,
    )
    assert isinstance(mapped, np.memmap) and mapped.shape == (300, 8)
    assert np.allclose(mapped, encoder.encode(TEXTS), atol=1e-6)
    assert seen[0] == (0, 300) and seen[-1] == (300, 300)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert ray.is_initialized(), "a Ray started by the caller is left running"
    assert np.array_equal(open_embeddings(tmp_path / "pool"), mapped)


def test_an_interrupted_encoding_resumes_at_the_missing_shards(local_ray, tmp_path):
    encoder = hashing_encoder()

    class Interrupted(Exception):
        pass

    def stop_after_two_shards(done, total):
        if done >= 128:
            raise Interrupted

    with pytest.raises(Interrupted):
        encode_with_ray(
            TEXTS,
            encoder,
            tmp_path / "pool",
            shard_size=64,
            batch_size=64,
            on_progress=stop_after_two_shards,
            progress=False,
        )
    with pytest.raises(InputError, match="not finished"):
        open_embeddings(tmp_path / "pool")

    seen = []
    mapped = encode_with_ray(
        TEXTS,
        encoder,
        tmp_path / "pool",
        shard_size=64,
        batch_size=64,
        on_progress=lambda done, total: seen.append(done),
        progress=False,
    )
    assert seen[0] >= 128, "the shards written before the interruption are kept"
    assert seen[-1] == 300
    assert np.allclose(mapped, encoder.encode(TEXTS), atol=1e-3)  # float16 on disk
    # Finished: asking again encodes nothing.
    again = []
    encode_with_ray(
        TEXTS, encoder, tmp_path / "pool", shard_size=64, on_progress=lambda d, t: again.append(d), progress=False
    )
    assert again == [300]
    # Another encoder's (or another pool's) vectors are never mixed into an unfinished folder.
    with pytest.raises(Interrupted):
        encode_with_ray(
            TEXTS,
            encoder,
            tmp_path / "half",
            shard_size=64,
            batch_size=64,
            on_progress=stop_after_two_shards,
            progress=False,
        )
    with pytest.raises(InputError, match="another pool or encoder"):
        encode_with_ray(TEXTS, hashing_encoder(16), tmp_path / "half", shard_size=64, progress=False)


def test_ray_encoder_encodes_a_pool_on_ray_and_a_query_locally(local_ray, tmp_path):
    local = hashing_encoder()
    encoder = RayEncoder(local, tmp_path / "pools", shard_size=100, batch_size=50, local_below=50, progress=False)
    assert encoder.dim == 8
    query = encoder.encode(["where are the eyes"])
    assert not isinstance(query, np.memmap) and query.shape == (1, 8)
    pool = encoder.encode(TEXTS)
    assert isinstance(pool, np.memmap)
    assert encoder.folder_for(TEXTS).parent == tmp_path / "pools"
    assert np.allclose(pool, local.encode(TEXTS), atol=1e-3)
    with pytest.raises(InputError, match="encode"):
        RayEncoder(object(), tmp_path)


def test_a_session_shows_the_progress_of_an_encoding_on_ray(local_ray, tmp_path):
    """The session's start-up hands its progress callback to any encoder that takes one
    (``prepare.encode_pool``): a Ray encoding reports its rows as a local one does."""
    from anchoral_widget.session.encoding import encode_pool

    encoder = RayEncoder(
        hashing_encoder(), tmp_path / "pools", shard_size=100, batch_size=50, local_below=50, progress=False
    )
    seen = []
    pool = encode_pool(encoder, TEXTS, lambda done, total: seen.append((done, total)))
    assert pool.shape == (len(TEXTS), 8)
    assert seen and seen[-1] == (len(TEXTS), len(TEXTS))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen), "done only grows"
