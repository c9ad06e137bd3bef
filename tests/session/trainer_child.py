"""A label-ahead session whose fits never end: labels a batch, submits it, prints the ids, the
next batch and FITTING <labels> once the fit of the new labels runs; then waits to be killed."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for conftest

from conftest import clustered_pool
from sessions import SlowLearner, answer_all, batch_ids, make

store = sys.argv[1]
X, y, _ = clustered_pool(n=400, seed=1)
learner = SlowLearner()
session = make((X, y, [f"text {i}" for i in range(len(y))]), store=store, learner=learner, training="ahead")
assert session._trainer.idle(30)  # the first model (seed labels) is ready
learner.gate.clear()  # the next fit never ends
learner.started.clear()
first = batch_ids(session)
it = answer_all(session)["iteration"]
session.handle({"kind": "submit", "iteration": it})
assert session.wait(30)
print("SUBMITTED", *first, flush=True)
print("NEXT", *batch_ids(session), flush=True)
assert learner.started.wait(30)
print("FITTING", learner.fits[-1], flush=True)
time.sleep(600)
