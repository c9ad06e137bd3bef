"""Labels a pool through a store until it is killed; prints ACK after every label() returns."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for conftest

from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop

path, round_ = sys.argv[1], int(sys.argv[2])
X, y, _ = clustered_pool(n=3000, d=32)
loop = ActiveLoop(
    X, classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=300, index="exact", store=path
)
if not loop.labels:
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:20]]
    loop.label(init, y[init])
    print("ACK", *init.tolist(), flush=True)
print("READY", flush=True)
rng = np.random.default_rng(round_)
while True:
    proposal = loop.propose()  # training and selection
    for item in proposal.unanswered(loop.excluded).tolist():
        if rng.random() < 0.1:
            loop.skip([item])
            print("SKIP", item, flush=True)
        else:
            loop.label([item], [y[item]])
            print("ACK", item, flush=True)
