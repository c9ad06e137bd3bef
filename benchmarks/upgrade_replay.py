"""The loop replayed on `fast`, on `onnx`, and on `fast` moved to `onnx` after k batches (as a
session moves once its upgrade is done), with what each run found, and the simpler choices on
MiniLM's vectors (random subsampling, the paper's method); ``near_labels.py`` replays the same runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from claims_runs import start_loop, variant


def run(v, seed: int, budget: int, switch=None) -> dict:
    """``claims_runs.run_one``'s anchoral run; ``switch=(k, X, X_test)``: after k batches, the loop
    moves to ``X`` (the test set to ``X_test``), as a session does when its upgrade is done."""
    from anchoral_widget.engine.loop.switch import switch_loop

    loop, initial = start_loop(v, "exact", "anchoral", seed)
    b = loop.config["batch_size"]
    first = 0 if switch is None else min(budget, switch[0] * b)
    if first:
        loop.simulate(v.labels, first)
    if switch is not None:
        switch_loop(loop, switch[1], switch[2])
    if budget - first:
        loop.simulate(v.labels, budget - first)
    return found(loop, initial, v, seed)


def found(loop, initial, v, seed: int) -> dict:
    """What a finished run found: minority items, the AUC of minority F1, per batch."""
    from anchoral_widget.replay.simulation import summarise

    summary = summarise(loop, initial, loop.evaluate(loop.train()))
    minority = set(v.minority)
    return {
        "seed": seed,
        "auc": summary["auc_minority_f1"],
        "minority_found": summary["minority_found"],
        "found_per_batch": [sum(c in minority for c in r.batch_labels) for r in loop.history],
        "subpool_minority_share": float(np.nanmean([r.minority_in_subpool for r in loop.history])),
    }


def whole_pools(args, names: list[str], seeds: list[int], rate_one: float, runs_dir: Path) -> dict:
    """`fast`, `onnx` and `fast` switched to `onnx` after the batches its upgrade would take, on each
    dataset's whole pool."""
    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    full: dict = {}
    for dname in names:
        data = load_dataset(dname, seed=0)
        k = batches_during(len(data.texts), rate_one, args.seconds_per_batch)
        Xs, Xt = {}, {}
        for name in ("fast", "onnx"):
            enc = Encoder(name, progress=False, threads=1)
            Xs[name], Xt[name] = np.asarray(enc.encode(data.texts)), np.asarray(enc.encode(data.test_texts))
        v = {name: variant(data, Xs[name], Xt[name], 0.01) for name in Xs}
        full[dname] = {"pool": len(data.texts), "test": len(data.test_texts), "k": k, "loops": {}}
        extra = [int(x) for x in args.full_switch_at.split(",") if x]
        plans = {"fast": None, "onnx": None, **{f"fast → onnx after {at}": at for at in sorted({k, *extra})}}
        for plan, at in plans.items():
            runs = []
            for seed in seeds:
                key = plan.replace(" → ", "-to-").replace(" ", "-")
                path = runs_dir / f"{dname}-full-{key}-s{seed}-b{args.full_budget}.json"
                if path.exists():
                    result = json.loads(path.read_text())
                else:
                    switch = None if at is None else (at, v["onnx"].X, Xt["onnx"])
                    result = run(v["fast" if at is not None else plan], seed, args.full_budget, switch)
                    path.write_text(json.dumps(result))
                runs.append(result)
                print(f"{dname} (whole) {plan} seed {seed}: found {result['minority_found']}", flush=True)
            full[dname]["loops"][plan] = runs
    return full


def batches_during(n: int, per_second: float, seconds_per_batch: float) -> int:
    """Batches a person labels while ``n`` texts are encoded at ``per_second``."""
    return math.ceil(n / per_second / seconds_per_batch)


def randsub(v, seed: int, budget: int) -> dict:
    """Random subsampling (M=10,000) on MiniLM's vectors with the default learner: the simpler
    choice the session must beat."""
    loop, initial = start_loop(v, "exact", "randsub", seed)
    loop.simulate(v.labels, budget)
    return found(loop, initial, v, seed)


def paper(v, seed: int, budget: int) -> dict:
    """The paper's method on MiniLM's vectors: the anchors' subpool alone, the learner fitted on
    the labels alone (no unlabelled sample, nothing drawn from outside the subpool)."""
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier

    loop, initial = start_loop(v, "exact", "anchoral", seed, EmbeddingClassifier(unlabelled_sample=0), 0)
    loop.simulate(v.labels, budget)
    return found(loop, initial, v, seed)
