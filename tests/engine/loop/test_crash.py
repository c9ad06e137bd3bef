"""Kill a labelling process with SIGKILL at random points, many times: no acknowledged label is
ever lost, none is doubled."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.store_backends import open_backend

KILLS = 25
HERE = Path(__file__).parent


def test_sigkill_at_random_points_loses_nothing(store_at):
    path = store_at()
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    rng = np.random.default_rng(0)
    acked: set[int] = set()
    for round_ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(HERE / "crash_child.py"), str(path), str(round_)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith("READY"):
                break
        assert lines and lines[-1].startswith("READY"), child.stderr.read()
        time.sleep(float(rng.uniform(0.0, 0.6)))  # somewhere in a label write, training or selection
        child.send_signal(signal.SIGKILL)
        # read the rest through the same reader: communicate() reads the pipe beneath it and would
        # miss the lines it buffered past READY (an ACK there looked like a label stored unacknowledged)
        out = child.stdout.read()
        child.communicate()
        for line in lines + out.splitlines():
            if line.startswith("ACK"):
                acked.update(int(i) for i in line.split()[1:])
        stored = set(stored_ids(path))
        assert acked <= stored, f"acknowledged but lost: {sorted(acked - stored)[:10]}"
        # A kill can land after a commit and before its ACK: at most that one call's labels
        # (one item, or the seed set in the first round) are stored unacknowledged.
        assert len(stored - acked) <= (23 if round_ == 0 else 1)
        acked |= stored  # durable from here on: later kills must keep them too

    X, y, _ = clustered_pool(n=3000, d=32)
    loop = ActiveLoop(
        X, classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=300, index="exact", store=path
    )
    assert set(loop.labels) == acked
    assert all(loop.labels[i] == y[i] for i in acked)
    # Nothing doubled: every id is labelled by exactly one row of the log (no undo here).
    ids = stored_ids(path)
    assert len(ids) == len(set(ids)) == len(acked)
    assert len(acked) > 100, "the kills landed while labelling was under way"


def stored_ids(path):
    log = open_backend(path)
    try:
        return [i for row in log.rows() if row.kind == "label" for i in json.loads(row.payload)["ids"]]
    finally:
        log.close()
