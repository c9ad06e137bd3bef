"""The wait per batch while the upgrade encodes behind the loop: held, yielding while a batch is
proposed (the session's behaviour), or not yielding.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np


def wait_while_upgrading(iterations: int) -> dict:
    """The wait per batch on the full icd10-eye pool (58k, `fast`, exact search) while the upgrade
    encodes behind it as a session runs it (``Upgrade.encode``: one onnxruntime thread at nice
    +10, passes of 16 texts). Three loops on the same trajectory, each iteration timed on each in
    turn: the upgrade held; encoding and told when a batch is proposed (it waits, the session's
    behaviour); encoding and not told. Interleaved, so that the load of the machine (shared)
    weighs on the three alike."""
    import threading

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.vectors.encoder import Encoder
    from anchoral_widget.replay.simulation import initial_sample
    from anchoral_widget.session.upgrade import Upgrade, UpgradeStopped, lower_priority
    from anchoral_widget.session.upgrade_plan import plan_upgrade

    data = load_dataset("icd10-eye", seed=0)
    texts, labels = list(data.texts), np.asarray(data.labels)
    X = np.asarray(Encoder("fast", progress=False).encode(texts, mmap=True))
    modes = ("held", "yielding", "not yielding")
    loops = {m: ActiveLoop(X, list(data.classes), list(data.minority), index="exact", seed=0) for m in modes}
    initial = initial_sample(labels, data.minority, size=100, per_minority_class=5, seed=0)
    for loop in loops.values():
        loop.label(initial, labels[initial])
    encoder = plan_upgrade("onnx", Encoder("fast"), encodes_pool=True)
    encoder.cache_dir = False  # encode for the measurement only
    mode, proposing, stop, encoded = ["held"], threading.Event(), threading.Event(), [0]

    def run() -> None:
        lower_priority()
        with contextlib.suppress(UpgradeStopped):
            Upgrade(encoder).encode(
                texts,
                lambda done, total: encoded.__setitem__(0, done),
                busy=lambda: mode[0] == "held" or (mode[0] == "yielding" and proposing.is_set()),
                closed=stop.is_set,
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    mode[0] = "not yielding"
    time.sleep(5)  # the model loaded
    waits: dict[str, list[float]] = {m: [] for m in modes}
    seconds, start = 0.0, encoded[0]
    for _ in range(iterations):
        batches = []
        for m in modes:
            mode[0] = m
            time.sleep(0.5)  # the pass under way ends (held), or encoding runs a while
            proposing.set()
            t0 = time.perf_counter()
            batches.append(loops[m].propose().batch_ids)
            waits[m].append(time.perf_counter() - t0)
            proposing.clear()
            seconds += 0.5 + waits[m][-1] if m != "held" else 0.0
        assert all(b.tolist() == batches[0].tolist() for b in batches), "the same trajectory"
        for loop in loops.values():
            loop.label(batches[0], labels[batches[0]])
    stop.set()
    mode[0] = "not yielding"
    thread.join(30)
    return {"pool": len(texts), "waits": waits, "encoded_per_s": (encoded[0] - start) / seconds}
