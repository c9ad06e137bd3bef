"""Memory-mapped embeddings: written once with a manifest, opened read-only, read by row."""

import os

import numpy as np
import pytest

from anchoral_widget.engine.vectors.fingerprint import fingerprint_array
from anchoral_widget.engine.vectors.shards import (
    ShardedWriter,
    check_mapped,
    fingerprint_embeddings,
    open_embeddings,
    rows,
    write_embeddings,
)
from anchoral_widget.errors import InputError


def unit(n=500, d=16, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_written_embeddings_open_mapped_with_their_fingerprint(tmp_path, dtype):
    X = unit()
    mapped = write_embeddings(tmp_path / "pool.npy", X * 3.0, dtype=dtype)  # rows are normalised
    assert isinstance(mapped, np.memmap) and mapped.dtype == np.dtype(dtype) and not mapped.flags.writeable
    assert np.allclose(mapped, X, atol=1e-3)
    # the manifest's fingerprint is the one the in-memory array of the same values has
    assert fingerprint_embeddings(mapped) == fingerprint_array(np.asarray(mapped))
    again = open_embeddings(tmp_path / "pool.npy")
    assert check_mapped(again) is again, "a mapped pool is used as it is, never copied"


def test_the_manifest_is_trusted_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "pool.npy"
    mapped = write_embeddings(path, unit())
    import anchoral_widget.engine.vectors.shards as shards

    scans = []
    real_scan = shards._scan
    monkeypatch.setattr(shards, "_scan", lambda a: scans.append(1) or real_scan(a))
    fingerprint = fingerprint_embeddings(mapped)
    check_mapped(mapped)
    assert scans == [], "opening a written pool again reads none of its rows"
    # Someone writes into the file: its manifest no longer describes it.
    writable = np.load(path, mmap_mode="r+")
    writable[3] = np.nan
    writable.flush()
    del writable
    os.utime(path, ns=(0, 0))
    reopened = open_embeddings(path)
    assert fingerprint_embeddings(reopened) != fingerprint
    with pytest.raises(InputError, match="NaN or inf in 1 rows, first at row 3"):
        check_mapped(reopened)


def test_rows_reads_only_the_rows_asked_for_in_the_order_asked(tmp_path):
    X = unit()
    mapped = write_embeddings(tmp_path / "pool.npy", X, dtype="float16")
    ids = np.array([400, 3, 250, 3])
    out = rows(mapped, ids)
    assert out.dtype == np.float32 and np.allclose(out, X[ids], atol=1e-3)
    assert np.array_equal(rows(X, ids), X[ids])


def test_bad_files_and_blocks_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no embeddings"):
        open_embeddings(tmp_path / "missing.npy")
    np.save(tmp_path / "ints.npy", np.zeros((4, 3), dtype=np.int32))
    with pytest.raises(InputError, match="float16 or float32"):
        open_embeddings(tmp_path / "ints.npy")
    np.save(tmp_path / "flat.npy", np.zeros(4, dtype=np.float32))
    with pytest.raises(InputError, match="not \\(items, dimensions\\)"):
        open_embeddings(tmp_path / "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a readable"):
        open_embeddings(tmp_path / "junk.npy")
    with pytest.raises(InputError, match="float16 or float32"):
        write_embeddings(tmp_path / "x.npy", unit(), dtype="int8")
    with pytest.raises(InputError, match="rows_total"):
        write_embeddings(tmp_path / "x.npy", iter([unit()]))
    with pytest.raises(InputError, match="3 rows were given, 5 expected"):
        write_embeddings(tmp_path / "x.npy", iter([unit(3)]), rows_total=5)
    bad = unit()
    bad[7, 2] = np.inf
    with pytest.raises(InputError, match="NaN or inf"):
        write_embeddings(tmp_path / "x.npy", bad)
    assert not list(tmp_path.glob(".x.npy*")), "a failed write leaves no temporary file behind"


def test_blocks_written_as_they_come(tmp_path):
    X = unit(1000)
    mapped = write_embeddings(tmp_path / "p.npy", (X[s : s + 300] for s in range(0, 1000, 300)), rows_total=1000)
    assert np.allclose(mapped, X, atol=1e-3)


def test_a_sharded_pool_resumes_at_the_first_missing_shard(tmp_path):
    X = unit(1000)
    writer = ShardedWriter(tmp_path / "pool", 1000, 16, shard_size=256, source="texts-a")
    assert writer.pending() == [0, 1, 2, 3] and writer.span(3) == (768, 1000)
    # rows arrive out of order, and one of them twice (a retried task)
    assert writer.write(np.arange(256, 512), X[256:512]) == [1]
    assert writer.write(np.arange(0, 100), X[:100]) == []
    assert writer.write(np.arange(50, 256), X[50:256]) == [0]
    with pytest.raises(InputError, match="not finished"):
        open_embeddings(tmp_path / "pool")
    with pytest.raises(InputError, match="2 shards"):
        writer.finish()
    del writer  # the kernel dies

    resumed = ShardedWriter(tmp_path / "pool", 1000, 16, shard_size=256, source="texts-a")
    assert resumed.pending() == [2, 3] and resumed.rows_done == 512
    resumed.write(np.arange(512, 1000), X[512:])
    mapped = resumed.finish()
    assert np.allclose(mapped, X, atol=1e-3)
    assert not (tmp_path / "pool" / "shards.json").exists()
    assert fingerprint_embeddings(mapped) == fingerprint_array(np.asarray(mapped))
    # Finished: opening it again is free, and writing more is refused.
    done = ShardedWriter(tmp_path / "pool", 1000, 16, shard_size=256, source="texts-a")
    assert done.finished and done.pending() == []
    with pytest.raises(InputError, match="finished"):
        done.write(np.arange(3), X[:3])
    assert np.array_equal(done.finish(), mapped)


def test_a_damaged_shard_is_written_again_and_another_pools_folder_is_refused(tmp_path):
    X = unit(600)
    writer = ShardedWriter(tmp_path / "pool", 600, 16, shard_size=200, source="texts-a")
    writer.write(np.arange(0, 400), X[:400])
    del writer
    damaged = np.load(tmp_path / "pool" / "embeddings.npy", mmap_mode="r+")
    damaged[250] = 0
    damaged.flush()
    del damaged
    resumed = ShardedWriter(tmp_path / "pool", 600, 16, shard_size=200, source="texts-a")
    assert resumed.pending() == [1, 2], "a shard whose checksum fails is not trusted"
    with pytest.raises(InputError, match="another pool or encoder"):
        ShardedWriter(tmp_path / "pool", 600, 16, shard_size=200, source="texts-b")
    with pytest.raises(InputError, match="ids but vectors"):
        resumed.write(np.arange(3), X[:2])
    with pytest.raises(InputError, match="out of range"):
        resumed.write(np.array([600]), X[:1])
    with pytest.raises(InputError, match="NaN or inf"):
        resumed.write(np.array([5]), np.full((1, 16), np.nan))
