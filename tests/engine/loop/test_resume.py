"""Exact resume: a run whose store is reopened in a fresh process, after any number of
iterations, makes the very proposals the uninterrupted run makes, for every pool filter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop

POOL = dict(n=1500, d=16, clusters=30, rare_clusters=(0, 1))
ITERATIONS = 4
RUNS = [
    ("anchoral", "exact"),
    ("anchoral", "hnsw"),
    ("randsub", "exact"),
    ("seals", "exact"),
    ("seals", "hnsw"),
    ("none", "exact"),
]


def make_loop(X, pool_filter, index, store=None):
    return ActiveLoop(
        X,
        classes=["other", "rare"],
        minority=["rare"],
        pool_filter=pool_filter,
        batch_size=10,
        neighbours=10,
        subpool_size=200,
        index=index,
        seed=3,
        store=store,
    )


def continue_run(loop, y, total):
    """Propose and answer until ``total`` iterations are done; what each proposal was."""
    made = []
    while loop.iteration < total:
        p = loop.propose()
        made.append(
            {
                "iteration": p.iteration,
                "batch": p.batch_ids.tolist(),
                "subpool": p.subpool_ids.tolist(),
                "anchors": p.anchor_ids.tolist(),
            }
        )
        loop.label(p.batch_ids, y[p.batch_ids])
    return made


def start(X, y, pool_filter, index, store=None):
    loop = make_loop(X, pool_filter, index, store)
    init = np.r_[np.flatnonzero(y == "rare")[:4], np.flatnonzero(y == "other")[:30]]
    loop.label(init, y[init])
    return loop


def test_every_filter_resumes_exactly_in_a_fresh_process(tmp_path):
    from anchoral_widget.engine.search.index import build_index

    X, y, _ = clustered_pool(**POOL)
    indexes = {kind: build_index(X, kind) for kind in ("exact", "hnsw")}
    expected, jobs = {}, {}
    for pool_filter, kind in RUNS:
        expected[(pool_filter, kind)] = continue_run(start(X, y, pool_filter, indexes[kind]), y, ITERATIONS)
        for done in range(1, ITERATIONS):
            path = tmp_path / f"{pool_filter}-{kind}-{done}.db"
            loop = start(X, y, pool_filter, indexes[kind], store=path)
            continue_run(loop, y, done)
            loop.store.close()
            jobs[f"{pool_filter}/{kind}/{done}"] = (pool_filter, kind, str(path), done, ITERATIONS)

    here = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), *sys.path]))
    child = subprocess.run(
        [sys.executable, str(here / "resume_child.py"), json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr
    resumed = json.loads(child.stdout.strip().splitlines()[-1])
    for key, (pool_filter, kind, _, done, _) in jobs.items():
        assert resumed[key] == expected[(pool_filter, kind)][done:], f"{key}: the resumed run drifted"


def test_a_growing_subpool_is_kept_as_its_best_items_in_the_history_and_the_store(tmp_path):
    # SEALS's subpool grows with the labelled set; keeping all of it every iteration made the
    # history (and the store) grow with the square of the labels.
    X, y, _ = clustered_pool(**POOL)
    loop = start(X, y, "seals", "exact", store=tmp_path / "seals.db")
    sizes = []
    while loop.iteration < 3:
        p = loop.propose()
        sizes.append(len(p.subpool_ids))
        loop.label(p.batch_ids, y[p.batch_ids])
    assert min(sizes) > 200, "the strategy saw the whole subpool"
    for record, p_size in zip(loop.history, sizes):
        # The 200 best, and the batch the strategy took from further down.
        assert 200 <= len(record.subpool_ids) == len(record.subpool_scores) <= 210 < p_size
        assert set(record.batch_ids) <= set(record.subpool_ids)
        assert record.subpool_scores == sorted(record.subpool_scores, reverse=True)
    rows = [payload for kind, payload in loop.store.log() if kind == "propose"]
    assert all(200 <= len(r["subpool_ids"]) <= 210 for r in rows)
