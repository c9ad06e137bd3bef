"""One member of a labelling team: labels its batches through a shared store, one item at a
time, until it is killed; prints ``ACK <id>`` after each label() returns."""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for conftest

from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import StoreUnavailableError

url, name, round_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
X, y, _ = clustered_pool(n=3000, d=32)
params = dict(classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=300, index="exact")
while True:
    try:
        loop = ActiveLoop(X, store=url, annotator=name, **params)
        break
    except StoreUnavailableError as err:  # a kernel started while the server restarts: try again
        print("DOWN", err, file=sys.stderr, flush=True)
        time.sleep(0.5)
print("READY", flush=True)
rng = np.random.default_rng(round_)
while True:
    try:
        proposal = loop.propose()  # takes in the others' labels first
        for item in proposal.unanswered(loop.excluded).tolist():
            if rng.random() < 0.1:
                loop.skip([item])
                print("SKIP", item, flush=True)
            else:
                loop.label([item], [y[item]])
                print("ACK", item, flush=True)
            time.sleep(0.02)
    except StoreUnavailableError as err:  # the server is down for longer than the retries: wait, go on
        print("DOWN", err, file=sys.stderr, flush=True)
        time.sleep(0.5)
