"""Encodes a pool through the embeddings cache with a slow stand-in model until it is killed;
prints CHUNK after each chunk is written. Also the stand-in model the start-up tests use."""

import sys
import time
import zlib

import numpy as np

DIM = 16


class HashModel:
    """A stand-in for a sentence encoder: each text's vector comes from a generator seeded by
    the text, so every run gives the same rows. ``fail_at``: the call (1-based) that raises;
    ``delay``: seconds per call; ``gate``: an Event each call waits for."""

    dim = DIM

    def __init__(self, fail_at=None, delay=0.0, gate=None):
        self.calls, self.fail_at, self.delay, self.gate = 0, fail_at, delay, gate

    def get_sentence_embedding_dimension(self):
        return DIM

    def encode(self, texts, **_):
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise RuntimeError("the encoder ran out of memory")
        time.sleep(self.delay)
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=DIM) for t in texts]
        out = np.asarray(rows, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def fake_encoder(folder, cache_dir, model, chunk_size=8):
    """An Encoder of the package with ``model`` in place of a real one (``folder``: any folder)."""
    from anchoral_widget.engine.vectors.encoder import Encoder

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "stand-in"}')
    encoder = Encoder(folder, cache_dir=cache_dir, progress=False, batch_size=chunk_size, chunk_size=chunk_size)
    encoder._load_model = lambda: model
    return encoder


if __name__ == "__main__":
    from pathlib import Path

    folder, cache_dir, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    texts = [f"text number {i}" for i in range(n)]
    encoder = fake_encoder(folder, cache_dir, HashModel(delay=0.2))
    encoder.encode(texts, on_progress=lambda done, total: print("CHUNK", done, flush=True))
    print("DONE", flush=True)
