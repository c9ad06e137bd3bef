"""Stores written by the first release (tests/engine/loop/fixtures, see make_v1_stores.py) still open: every
label, skip, undo and the pending batch come back, and the loop goes on from there."""

import copy as copy_module
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.session.startup import build_session

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "v1-expected.json").read_text())
PARAMS = dict(classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=200, index="exact", seed=0)


def state(loop):
    return {
        "labels": {str(i): c for i, c in loop.labels.items()},
        "skipped": loop.skipped_ids.tolist(),
        "history": [
            {
                "iteration": r.iteration,
                "batch_ids": r.batch_ids,
                "skipped_ids": r.skipped_ids,
                "anchor_ids": r.anchor_ids,
                "subpool_ids": r.subpool_ids,
            }
            for r in loop.history
        ],
        "pending": None if loop.pending is None else loop.pending.batch_ids.tolist(),
    }


def same_state(now, then):
    """Equal, except that the history may now keep a part of a growing subpool (SEALS's) where
    the first release kept all of it."""
    now, then = copy_module.deepcopy(now), copy_module.deepcopy(then)
    for a, b in zip(now["history"], then["history"], strict=True):
        assert set(a.pop("subpool_ids")) <= set(b.pop("subpool_ids"))
    return now == then


def copy(name, tmp_path):
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


@pytest.mark.parametrize("pool_filter", ["anchoral", "seals"])
def test_a_first_release_store_resumes(tmp_path, pool_filter):
    X, y, _ = clustered_pool()
    path = copy(f"v1-{pool_filter}.db", tmp_path)
    loop = ActiveLoop(X, pool_filter=pool_filter, store=path, **PARAMS)
    assert same_state(state(loop), EXPECTED[pool_filter])
    # The pending batch is answered and the loop goes on, writing to the old file.
    pending = loop.propose()
    assert pending.batch_ids.tolist() == EXPECTED[pool_filter]["pending"]
    rest = pending.unanswered(loop.excluded)
    loop.label(rest, y[rest])
    loop.propose()
    loop.store.close()
    again = ActiveLoop(X, pool_filter=pool_filter, store=path, **PARAMS)
    assert len(again.labels) == len(EXPECTED[pool_filter]["labels"]) + len(rest)


def test_a_first_release_store_keyed_by_embeddings_opens_with_texts(tmp_path):
    # Loops given texts= were keyed by their embeddings alone in the first release.
    X, _, cluster = clustered_pool()
    texts = [f"item {i} of cluster {c}" for i, c in enumerate(cluster)]
    path = copy("v1-anchoral.db", tmp_path)
    loop = ActiveLoop(X, texts=texts, store=path, **PARAMS)
    assert state(loop) == EXPECTED["anchoral"]


def test_the_widget_finds_its_first_release_store_by_name(tmp_path, monkeypatch):
    X, _, cluster = clustered_pool()
    texts = [f"item {i} of cluster {c}" for i, c in enumerate(cluster)]
    copy(EXPECTED["labeller"]["store"], tmp_path)
    monkeypatch.chdir(tmp_path)
    session = build_session(
        texts,
        ["other", "rare"],
        ["rare"],
        embeddings=X,
        **{k: PARAMS[k] for k in PARAMS if k not in ("classes", "minority")},
    )
    try:
        assert session.loop.store.path.name == EXPECTED["labeller"]["store"]
        assert state(session.loop) == {k: v for k, v in EXPECTED["labeller"].items() if k != "store"}
    finally:
        session.close()


def test_resuming_in_a_fresh_process_gives_the_same_state(tmp_path):
    path = copy("v1-seals.db", tmp_path)
    script = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})  # tests/, for conftest
from conftest import clustered_pool
from anchoral_widget.engine.loop.active import ActiveLoop
X, y, _ = clustered_pool()
loop = ActiveLoop(X, pool_filter="seals", store={str(path)!r}, **{PARAMS!r})
print(json.dumps(sorted(int(i) for i in loop.labels)))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == sorted(int(i) for i in EXPECTED["seals"]["labels"])
