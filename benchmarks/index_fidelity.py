"""Does the index lose rare items? Minority items found with exact search against the HNSW
paths, over many seeds, and the recall of each index on the labelled anchors' neighbourhoods.

On a bundled pool (default icd10-eye, 1% minority, full size) every seed runs AnchorAL from the
paper's initial set for ``--budget`` labels three times, changing only the index:

- ``exact``: exact search (what ``auto`` is at this size, so the default path);
- ``hnsw-200``: HNSW with the paper's build settings (M=64, ef_construction=200, ef=200) and no
  recall check, the index this project used by default before;
- ``hnsw-500``: the HNSW path ``auto`` takes beyond its exact-search threshold (M=64,
  ef_construction=500, ef=200, recall check on two rows of every query).

Default learner, entropy, b=25, A=10, K=50, M=1,000; no test set (only the labels matter here).
Then, for every anchor the exact runs used, recall@50 of both graphs against exact search over
the whole pool, split by the anchor's class.

    .venv/bin/python benchmarks/index_fidelity.py                 # icd10-eye, 20 seeds, budget 500
    .venv/bin/python benchmarks/index_fidelity.py --seeds 0-29
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, markdown_table, write_section
from claims_runs import load, variant
from paired_seeds import paired

INDEXES = ("exact", "hnsw-200", "hnsw-500")


def make_index(kind: str, X: np.ndarray, root: Path, threads: int):
    from anchoral_widget.engine.search.exact import ExactIndex
    from anchoral_widget.engine.search.hnsw import cached_hnsw

    if kind == "exact":
        return ExactIndex(X), 0.0
    efc = int(kind.split("-")[1])
    check = 0 if efc == 200 else 2
    t0 = time.perf_counter()
    index = cached_hnsw(X, root, ef_construction=efc, num_threads=threads, check_rows=check)
    return index, time.perf_counter() - t0


def run_one(v, index, seed: int, budget: int) -> dict:
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.replay.simulation import initial_sample

    loop = ActiveLoop(v.X, classes=v.classes, minority=v.minority, index=index, seed=seed)
    initial = initial_sample(v.labels, v.minority, size=100, per_minority_class=5, seed=seed)
    loop.label(initial, v.labels[initial])
    t0 = time.perf_counter()
    loop.simulate(v.labels, budget)
    initial_set = set(initial.tolist())
    found = [i for i, c in loop.labels.items() if c in v.minority and i not in initial_set]
    return {
        "seed": seed,
        "minority_found": len(found),
        "found_ids": sorted(found),
        "anchors": sorted({a for r in loop.history for a in r.anchor_ids}),
        "subpool_median_seconds": float(np.median([r.seconds["subpool"] for r in loop.history])),
        "wall_seconds": time.perf_counter() - t0,
    }


def recall_by_class(v, graphs: dict, anchors: np.ndarray, k: int = 50) -> dict:
    """recall@k of each graph (no exclusion) against exact search, for minority and majority
    anchors."""
    from anchoral_widget.engine.search.exact import ExactIndex

    truth, _ = ExactIndex(v.X).query(v.X[anchors], k)
    is_minority = np.isin(v.labels[anchors], v.minority)
    out = {}
    for name, index in graphs.items():
        got, _ = index._index.knn_query(v.X[anchors], k=k, num_threads=1)  # the graph alone, no check
        recall = np.array([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(got, truth)])
        out[name] = {
            side: {
                "anchors": int(mask.sum()),
                "mean": float(recall[mask].mean()) if mask.any() else None,
                "min": float(recall[mask].min()) if mask.any() else None,
                "below_0.9": int((recall[mask] < 0.9).sum()),
            }
            for side, mask in (("minority", is_minority), ("majority", ~is_minority))
        }
    return out


def parse_seeds(text: str) -> list[int]:
    if "-" in text and "," not in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def render(name, v, runs, builds, recalls, args) -> str:
    rows = []
    for kind in INDEXES:
        rs = runs[kind]
        found = np.array([r["minority_found"] for r in rs], dtype=float)
        rows.append(
            [
                kind,
                f"{found.mean():.1f} ± {found.std(ddof=1):.1f}",
                float(np.median([r["subpool_median_seconds"] for r in rs])),
                builds.get(kind),
            ]
        )
    lines = [
        "## Index fidelity: rare items found with exact search and with HNSW",
        "",
        f"{name}: pool {len(v.X):,}, minority {', '.join(v.minority)} ({v.share:.2%}). AnchorAL, default learner, "
        f"entropy, b=25, A=10, K=50, M=1,000, budget {args.budget} labels after the paper's initial set, "
        f"{len(runs['exact'])} seeds (each seed's initial set shared by the three indexes). `exact` is what the "
        "default `auto` index is at this size; `hnsw-200` is the paper's build (ef_construction=200) without a "
        "recall check, the former default; `hnsw-500` is the path `auto` takes beyond its exact-search threshold "
        "(ef_construction=500 and a recall check on two rows of each query).",
        "",
        markdown_table(["index", "minority found", "median subpool time (s)", "build (s, 0 if cached)"], rows),
        "",
        "Paired by seed (exact minus the other):",
        "",
    ]
    prow = []
    for kind in INDEXES[1:]:
        p = paired(runs, "minority_found", "exact", kind)
        lost = [
            len(set(a["found_ids"]) - set(b["found_ids"]))
            for a, b in zip(runs["exact"], runs[kind])
            if a["seed"] == b["seed"]
        ]
        prow.append(
            [
                kind,
                f"{p['diff']:+.2f} ± {p['sd']:.2f}",
                f"[{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}]",
                f"{p['t_p']:.3g}",
                f"{p['w_p']:.3g}",
                f"{p['wins']}/{p['n']}",
                f"{int((np.array([a['minority_found'] for a in runs['exact']]) < np.array([b['minority_found'] for b in runs[kind]])).sum())}/{p['n']}",
                float(np.mean(lost)),
            ]
        )
    lines += [
        markdown_table(
            [
                "vs",
                "exact - it, found",
                "95% CI",
                "t-test p",
                "Wilcoxon p",
                "exact ahead",
                "it ahead",
                "mean minority items exact found that it did not",
            ],
            prow,
        ),
        "",
        "Recall@50 of the graphs alone (knn_query, no exclusion, no check) against exact search, on every "
        "anchor the exact runs used:",
        "",
    ]
    rrows = []
    for kind, by_side in recalls.items():
        for side, r in by_side.items():
            rrows.append([kind, side, r["anchors"], r["mean"], r["min"], r["below_0.9"]])
    lines += [
        markdown_table(["graph", "anchor class", "anchors", "mean recall@50", "min", "below 0.9"], rrows),
        "",
    ]
    p200 = paired(runs, "minority_found", "exact", "hnsw-200")
    p500 = paired(runs, "minority_found", "exact", "hnsw-500")
    lines += [
        "### Verdict",
        "",
        f"- The default index (`auto` = exact at this size) loses nothing by construction. Exact search found "
        f"{p200['diff']:+.2f} minority items per run against the former default (`hnsw-200`, t-test "
        f"p={p200['t_p']:.2g}, exact ahead in {p200['wins']}/{p200['n']} seeds) and {p500['diff']:+.2f} against "
        f"the HNSW path beyond the threshold (`hnsw-500`, p={p500['t_p']:.2g}). On this pool neither graph loses "
        "rare items measurably (minority recall@50 of the former default: mean "
        f"{recalls['hnsw-200']['minority']['mean']:.4f}, min {recalls['hnsw-200']['minority']['min']:.2f}); the "
        "loss reported on another held-out pool (63.5 vs 72.7 found, minority recall min 0.75) is not reproduced "
        "here, so this benchmark shows the current paths are safe here, not that the former one was safe there.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="icd10-eye")
    parser.add_argument("--rarity", type=float, default=0.01)
    parser.add_argument("--seeds", default="0-19")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2, help="threads for building an index not yet cached")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--section", default="index_fidelity")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    root = cache_root(args.cache_dir)
    runs_dir = root / "index-fidelity-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    data, X, X_test = load(args.dataset, None)
    v = variant(data, X, X_test, args.rarity)
    runs: dict[str, list] = {}
    builds: dict[str, float] = {}
    graphs = {}
    for kind in INDEXES:
        index, builds[kind] = make_index(kind, v.X, root, args.threads)
        if kind != "exact":
            graphs[kind] = index
        runs[kind] = []
        for seed in parse_seeds(args.seeds):
            path = runs_dir / f"{args.dataset}-r{args.rarity}-{kind}-s{seed}-b{args.budget}.json"
            if path.exists():
                result = json.loads(path.read_text())
            else:
                result = run_one(v, index, seed, args.budget)
                path.write_text(json.dumps(result))
            runs[kind].append(result)
            print(f"{kind} seed {seed}: found {result['minority_found']}, {result['wall_seconds']:.0f} s", flush=True)
    anchors = np.array(sorted({a for r in runs["exact"] for a in r["anchors"]}), dtype=np.int64)
    recalls = recall_by_class(v, graphs, anchors)
    text = render(v.name, v, runs, builds, recalls, args)
    print(text)
    if not args.no_write:
        (RESULTS / f"{args.section}.json").write_text(json.dumps({"runs": runs, "recalls": recalls}))
        write_section(args.section, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
