"""What the loop finds as the subpool widens, or takes in items from outside the anchors'
neighbourhoods, against the paper's AnchorAL and random subsampling.

With MiniLM's vectors and the default learner, AnchorAL finds more rare items than randsub on
icd10-eye but trains a weaker minority classifier (its labels crowd around the anchors), and on
tweets-sentiment (labels without a topic) it finds fewer. This measures settings and a wrapper
of the existing filter that may close that, paired by seed (same initial set); ``--configs``
takes any of:

- ``anchoral``: the paper's (A=10, K=50, M=1,000); ``randsub`` (M=10,000);
- ``anchoral+kK+mM(+aA)``: wider neighbourhoods and subpools, e.g. ``anchoral+k250+m5000``;
- ``anchoral+uN``: the subpool plus a uniform sample of about N unlabelled items outside it, the
  strategy choosing over both (``ActiveLoop(outside_sample=N)``; without it, 0: the paper's);
- ``+sN``: the learner fitted against a random sample of N unlabelled items as well
  (``EmbeddingClassifier(unlabelled_sample=N)``; ``anchoral+s2000+u5000`` is the default
  session's method), ``+wW`` its full weight (default 1), ``+rR`` the rare labels at which it
  has it (default 40; 0: from the start) and ``+fF`` those before which it has none (default 10;
  ``+r0+f0``: full weight from the start). Without it, the balanced model alone, as the paper's.

The bundled pools at 1% (as shipped) and their 0.1% variants (``--rarities``, as in
``claims.py``), the paper's initial set (100 items, 5 minority), entropy, ``--budget`` labels;
rare items found and minority-F1 AUC (trapezoid over iterations, final model included), paired
t-tests against anchoral and against randsub.

    .venv/bin/python benchmarks/subpool_breadth.py          # both pools at 1% and 0.1%, 10 seeds, 500 labels
    .venv/bin/python benchmarks/subpool_breadth.py --datasets icd10-eye --seeds 0,1 --no-write
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results
from paired_seeds import mean_sd, paired

CONFIGS = (
    "anchoral,randsub,anchoral+s2000,anchoral+s2000+f0,randsub+s2000,anchoral+s2000+u5000,"
    "anchoral+s2000+u5000+f0,anchoral+s2000+u2000,anchoral+s2000+u10000,anchoral+s2000+r0+f0,"
    "anchoral+s2000+w0.5+f0,anchoral+k250+m5000"
)


def run(v, config: str, seed: int, budget: int) -> dict:
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.replay.simulation import initial_sample, summarise

    name, *parts = config.split("+")
    sample = next((int(p[1:]) for p in parts if p[0] == "s"), 0)
    weight = next((float(p[1:]) for p in parts if p[0] == "w"), 1.0)
    ramp = next((int(p[1:]) for p in parts if p[0] == "r"), 40)
    start = next((int(p[1:]) for p in parts if p[0] == "f"), 10)
    settings = {"m": "subpool_size", "k": "neighbours", "a": "anchors_per_class"}
    extra = {settings[p[0]]: int(p[1:]) for p in parts if p[0] in settings}
    if name == "anchoral":  # the paper's filter unless `+uN` says otherwise
        extra["outside_sample"] = next((int(p[1:]) for p in parts if p[0] == "u"), 0)
    loop = ActiveLoop(
        v.X,
        classes=v.classes,
        minority=v.minority,
        pool_filter=name,
        index="exact",
        test=(v.X_test, v.test_labels),
        seed=seed,
        learner=EmbeddingClassifier(
            unlabelled_sample=sample, unlabelled_weight=weight, unlabelled_ramp=ramp, unlabelled_from=start
        ),
        **extra,
    )
    initial = initial_sample(v.labels, v.minority, size=100, per_minority_class=5, seed=seed)
    loop.label(initial, v.labels[initial])
    loop.simulate(v.labels, budget)
    summary = summarise(loop, initial, loop.evaluate(loop.train()))
    return {"config": config, "seed": seed, "auc": summary["auc_minority_f1"], "found": summary["minority_found"]}


def run_all(v, args) -> dict[str, list]:
    runs: dict[str, list] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for config in args.configs.split(","):
            t0 = time.perf_counter()
            runs.setdefault(config, []).append(run(v, config, seed, args.budget))
            print(f"[{v.name} {config} seed {seed}] {time.perf_counter() - t0:.0f} s", flush=True)
    return runs


def render(results: dict, args) -> str:
    lines = [
        "## Subpool breadth: wider neighbourhoods, or items from outside them",
        "",
        "MiniLM's vectors, the class-weighted logistic regression (`+sN`: fitted against N unlabelled "
        "items as well; `+uN`: about N items from outside the anchors' neighbourhoods in each subpool; "
        "`anchoral+s2000+u5000` is the default session's method), entropy, b=25, the paper's initial set, "
        f"{args.budget} labels, "
        f"seeds {args.seeds} (paired: the same initial set per seed). `found`: rare items among the labels "
        "acquired; AUC: minority F1 over iterations (trapezoid, final model included). Each row against "
        "anchoral (the paper's M=1,000, K=50) and against randsub: mean difference and paired t-test p.",
        "",
    ]
    for dataset, runs in results.items():
        rows = []
        for config in args.configs.split(","):
            row = [config, mean_sd([r["found"] for r in runs[config]]), mean_sd([r["auc"] for r in runs[config]])]
            for rival in ("anchoral", "randsub"):
                for key in ("found", "auc"):
                    p = paired(runs, key, config, rival) if config != rival else None
                    row.append("" if p is None else f"{p['diff']:+.3g} (p={p['t_p']:.2g})")
            rows.append(row)
        headers = ["config", "found", "AUC", "found vs anchoral", "AUC vs anchoral", "found vs randsub"]
        lines += [f"### {dataset}", "", markdown_table([*headers, "AUC vs randsub"], rows), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--configs", default=CONFIGS)
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--rarities", default="0.01,0.001", help="minority shares of the pool (see claims.py)")
    parser.add_argument("--section", default="subpool_breadth")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import claims_runs

    results: dict[str, dict[str, list]] = {}
    for dataset in args.datasets.split(","):
        data, X, X_test = claims_runs.load(dataset, None)
        for rarity in [float(r) for r in args.rarities.split(",")]:
            v = claims_runs.variant(data, X, X_test, rarity)
            results[v.name] = run_all(v, args)
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_results(args.section, results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
