"""What the loop finds when a session starts on `fast` and moves to MiniLM's vectors once they
are encoded in the background, against `fast` alone and `onnx` (MiniLM) alone; and whether a
static model distilled without PCA closes the gap by itself.

1. Rates: `onnx` on one thread (what the background upgrade gets), `onnx` on every core, the
   static models on one thread, over ``--speed-n`` texts of each pool. From the one-thread rate
   and ``--seconds-per-batch`` (a person's pace, an assumption), the number of batches a person
   labels while the upgrade encodes a pool of N texts: k = ceil(N / rate / seconds per batch).
2. Neighbours: recall@10 against `onnx` and the minority share of a minority item's 50 nearest
   neighbours (as in ``benchmarks/encoders.py``).
3. The loop: ``claims.run_one``'s setting (the paper's initial set, b=25, A=10, K=50, M=1,000,
   exact search, default learner, test set encoded by the same encoder) for each seed: `fast`
   alone, `onnx` alone, the static model without PCA alone, and `fast` switched to `onnx` after
   k batches (``--switch-at``; the test set switches with it). Paired over seeds against `onnx`.

Pools capped at ``--max-size`` (stratified, 1% minority), as in the encoders section.

    .venv/bin/python benchmarks/upgrade.py
    .venv/bin/python benchmarks/upgrade.py --seeds 0,1 --budget 200 --switch-at 1 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, write_section
from claims_runs import variant
from encoders import neighbours
from upgrade_models import STATIC_FULL, distil_full, rate
from upgrade_replay import run, whole_pools
from upgrade_report import report
from upgrade_wait import wait_while_upgrading


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--max-size", type=int, default=6000)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--switch-at", default="1,4,8,12", help="batches labelled on `fast` before the switch")
    parser.add_argument("--wait-iterations", type=int, default=30, help="0: skip the wait measurement")
    parser.add_argument("--full-budget", type=int, default=1000, help="the whole pools' runs; 0: skip them")
    parser.add_argument(
        "--full-switch-at",
        default="6,13",
        help="switch points for the whole pools besides the one the measured rate gives (the rate moves with the load)",
    )
    parser.add_argument("--seconds-per-batch", type=float, default=30.0)
    parser.add_argument("--speed-n", type=int, default=500)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--section", default="upgrade")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    seeds = [int(s) for s in args.seeds.split(",")]
    switches = [int(k) for k in args.switch_at.split(",") if k]
    root = cache_root()
    runs_dir = root / "upgrade-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    load1 = os.getloadavg()[0]
    static_folder, static_build = distil_full(root)
    print(f"{STATIC_FULL}: {static_folder} (built in {static_build} s)", flush=True)
    models = {"fast": "fast", "onnx": "onnx", STATIC_FULL: static_folder}

    datasets = {n: load_dataset(n, seed=0, max_size=args.max_size) for n in args.datasets.split(",") if n}
    rng = np.random.default_rng(0)
    sample = []
    for data in datasets.values():
        texts = list(data.texts)
        sample += [texts[i] for i in np.sort(rng.choice(len(texts), size=min(args.speed_n, len(texts)), replace=False))]
    distinct = list(dict.fromkeys(t for data in datasets.values() for t in data.texts))
    rates = {
        "onnx, 1 thread": rate("onnx", sample, 1),
        "onnx, every core": rate("onnx", sample, None),
        "fast": rate("fast", distinct, None),
        STATIC_FULL: rate(static_folder, distinct, None),
    }
    print("rates:", {k: round(v) for k, v in rates.items()}, flush=True)

    quality, loops = {}, {}
    for dname, data in datasets.items():
        labels = np.asarray(data.labels)
        Xs, Xt = {}, {}
        for name, model in models.items():
            enc = Encoder(model, progress=False)
            Xs[name], Xt[name] = np.asarray(enc.encode(data.texts)), np.asarray(enc.encode(data.test_texts))
        quality[dname] = neighbours(Xs, "onnx", labels, list(data.minority), args.queries, seed=0)
        plans = {name: None for name in models}
        plans.update({f"fast → onnx after {k}": k for k in switches})
        loops[dname] = {}
        for plan, k in plans.items():
            runs = []
            for seed in seeds:
                key = plan.replace(" → ", "-to-").replace(" ", "-")
                path = runs_dir / f"{dname}-{args.max_size}-{key}-s{seed}-b{args.budget}.json"
                if path.exists():
                    result = json.loads(path.read_text())
                else:
                    base = "fast" if k is not None else plan
                    v = variant(data, Xs[base], Xt[base], 0.01)
                    switch = None if k is None else (k, variant(data, Xs["onnx"], Xt["onnx"], 0.01).X, Xt["onnx"])
                    result = run(v, seed, args.budget, switch)
                    path.write_text(json.dumps(result))
                runs.append(result)
                print(
                    f"{dname} {plan} seed {seed}: found {result['minority_found']}, AUC {result['auc']:.2f}", flush=True
                )
            loops[dname][plan] = runs

    full = whole_pools(args, list(datasets), seeds, rates["onnx, 1 thread"], runs_dir) if args.full_budget else {}
    waits = wait_while_upgrading(args.wait_iterations) if args.wait_iterations else None
    text = report(args, rates, static_build, datasets, quality, loops, switches, load1, waits, len(distinct), full)
    print(text)
    if not args.no_write:
        out = {"rates": rates, "static_build_s": static_build, "neighbours": quality, "loops": loops, "load": load1}
        out["waits"], out["full"] = waits, full
        (RESULTS / f"{args.section}.json").write_text(json.dumps(out, indent=1))
        write_section(args.section, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
