"""The paper's claims on real data: AnchorAL against RandSub, SEALS, the full pool and "no
anchoring", on the bundled datasets with a 1% minority and a 0.1% variant of each.

For every dataset the texts are encoded once with the bundled all-MiniLM-L6-v2 (cached). Each
variant (``--rarities``: 0.01 is the dataset as shipped; 0.001 keeps every majority item of its
pool and a seeded sample of the minority items, 0.1% of the result; the test set is the
dataset's, unchanged) gets one index (``--index``, default ``auto``, which is exact search at
these sizes) shared by every run. Each configuration runs from the paper's initial set (100
items, 5 of the minority, drawn with the run's seed) for ``--budget`` labels with the default
learner (class-weighted logistic regression on the embeddings), b=25, A=10, K=50, M=1,000; the
model of every iteration is scored on the test set.

Configurations: anchoral, randsub (M=10,000), seals, none and noanchor (randsub with M=1,000),
all with entropy; ``--configs`` also takes anchoral+badge, randsub+badge, anchoral+ftbertkm and
randsub+ftbertkm.

Each claim is tested per seed, paired (same seed, same initial set): mean difference, its sd and
95% interval over seeds, a paired t-test and a Wilcoxon signed-rank test, and how many seeds it
holds in.

    .venv/bin/python benchmarks/claims.py                               # full pools, 5 seeds, 1% and 0.1%
    .venv/bin/python benchmarks/claims.py --max-size 20000 --section claims_20k --rarities 0.01 --seeds 0,1,2
    .venv/bin/python benchmarks/claims.py --datasets tweets-sentiment --seeds 0 --budget 200 --no-write

Each finished run is kept as JSON under the cache dir, so an interrupted run resumes; the
summary goes to results/<section>.md, results/<section>.json and two PNG plots (if matplotlib is
importable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, write_section
from claims_plots import plots
from claims_report import render
from claims_runs import DEFAULT_CONFIGS, load, run_one, variant


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--rarities", default="0.01,0.001", help="minority shares of the pool; 0.01 = as shipped")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument(
        "--max-size",
        type=int,
        default=0,
        help="cap on each pool (stratified, the 1%% minority kept); 0 for the full dataset",
    )
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument("--index", default="auto")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--section", default="claims", help="name of the results section and plot files")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from anchoral_widget.engine.search.index import build_index

    root = cache_root(args.cache_dir)
    runs_dir = root / "claims-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    configs = [c for c in args.configs.split(",") if c]
    max_size = args.max_size or None

    all_runs: dict[str, dict[str, list]] = {}
    sizes = {}
    for dataset in [d for d in args.datasets.split(",") if d]:
        data, X, X_test = load(dataset, max_size)
        for rarity in [float(r) for r in args.rarities.split(",")]:
            v = variant(data, X, X_test, rarity)
            index = build_index(v.X, args.index, cache_dir=root)
            sizes[v.name] = (len(v.X), len(v.X_test), v.minority, v.share)
            all_runs[v.name] = {}
            for config in configs:
                all_runs[v.name][config] = []
                for seed in seeds:
                    key = f"{dataset}-r{rarity}-{max_size}-{args.index}-{config}-s{seed}-b{args.budget}"
                    path = runs_dir / f"{key}.json"
                    if path.exists():
                        result = json.loads(path.read_text())
                    else:
                        result = run_one(v, index, config, seed, args.budget)
                        path.write_text(json.dumps(result))
                    all_runs[v.name][config].append(result)
                    print(
                        f"{v.name} {config} seed {seed}: AUC {result['auc']:.2f}, found {result['minority_found']}, "
                        f"subpool share {result['subpool_minority_share']:.3f}, "
                        f"median wait {result['median_wait']:.3f} s, wall {result['wall_seconds']:.0f} s",
                        flush=True,
                    )

    text = render(all_runs, sizes, args, args.section)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.section}.json").write_text(json.dumps({"sizes": sizes, "runs": all_runs}))
        plots(all_runs, args.section)
        write_section(args.section, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
