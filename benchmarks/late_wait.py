"""Waiting time per iteration late in a run: from 100 to 5,000 labels, at 100k and 1M items.

A run's first iterations say little about its last: as labels gather around the anchors, an
index that over-fetches to skip labelled neighbours has more and more to skip. This script runs
one loop per pool size and index from the paper's initial set (100 items, 5 of the minority)
to 5,000 labels and measures the waiting time (train + subpool + strategy) of ``--measure``
consecutive iterations (b=25) at each checkpoint; between checkpoints the loop moves on with
batches of ``--stride`` items chosen by the same filter and strategy, so the labels gather
where the method puts them (near the anchors) without paying for every 25-item iteration.

Pools: the synthetic clustered pools of ``speed.py`` (``_common.synthetic_pool``), 1% minority.
Default learner (logistic regression on the embeddings), entropy, A=10, K=50, M=1,000.

    .venv/bin/python benchmarks/late_wait.py                        # 100k and 1M (default index), 20k HNSW
    .venv/bin/python benchmarks/late_wait.py --runs 10k:auto --no-write  # quick

The default index (``auto``) is exact search at these sizes; the HNSW path (taken beyond
``EXACT_UP_TO``) is measured at 20k, where the over-fetch probe of the issue saw 0.46 s per query
late in a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    cache_root,
    cached_pool,
    command_line,
    markdown_table,
    now,
    parse_size,
    size_label,
    write_section,
)

CHECKPOINTS = (100, 250, 500, 1000, 2000, 3000, 4000, 5000)
FLAT_RATIO = 1.5  # the most the subpool's CPU time may grow from the first checkpoint to the last


class Timed:
    """A pool filter that also records the CPU time (all threads of this process) of each call:
    unlike wall time, it hardly moves when other jobs share the cores."""

    def __init__(self, inner):
        self.inner, self.cpu = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, state):
        t0 = time.process_time()
        try:
            return self.inner(state)
        finally:
            self.cpu.append(time.process_time() - t0)


def anchor_seconds(loop) -> float:
    """CPU seconds of the anchors of the next subpool: the same k-means++ selection, on its own."""
    from anchoral_widget.engine.method.anchors import select_anchors

    ids, classes = loop.labelled_in_id_order()
    t0 = time.process_time()
    select_anchors(
        ids,
        classes,
        loop.embeddings,
        per_class=loop.config["anchors_per_class"],
        n_classes=len(loop.classes),
        minority=loop.minority_indices,
        rng=np.random.default_rng(0),
    )
    return time.process_time() - t0


def measure(
    n: int, index_kind: str, pool_filter: str, root: Path, measure_n: int, stride: int, seed: int, checkpoints
) -> dict:
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.search.index import build_index
    from anchoral_widget.replay.simulation import initial_sample

    X, y = cached_pool(n, root)
    t0 = time.perf_counter()
    index = build_index(X, index_kind, cache_dir=root if index_kind == "hnsw" else None, num_threads=2)
    build_s = time.perf_counter() - t0 if index_kind == "hnsw" else 0.0
    loop = ActiveLoop(X, classes=[0, 1], minority=[1], pool_filter=pool_filter, index=index, seed=seed)
    initial = initial_sample(y, [1], size=100, per_minority_class=5, seed=seed)
    loop.label(initial, y[initial])
    loop.pool_filter = timed = Timed(loop.pool_filter)
    points = []
    for checkpoint in checkpoints:
        while len(loop.labels) < checkpoint:
            p = loop.propose(batch_size=min(stride, checkpoint - len(loop.labels)))
            loop.label(p.batch_ids, y[p.batch_ids])
        rows = []
        for _ in range(measure_n):
            anchors_s = anchor_seconds(loop) if pool_filter == "anchoral" else 0.0
            p = loop.propose()
            rows.append(dict(p.seconds, subpool_size=len(p.subpool_ids), anchors=anchors_s, subpool_cpu=timed.cpu[-1]))
            loop.label(p.batch_ids, y[p.batch_ids])
        labelled_minority = float(np.mean(y[loop.labelled_ids] == 1))
        points.append(
            {
                "labels": checkpoint,
                "iterations": rows,
                "median": {
                    k: float(np.median([r[k] for r in rows]))
                    for k in ("train", "subpool", "subpool_cpu", "anchors", "strategy", "total")
                },
                "labelled_minority_share": labelled_minority,
                "load_average": os.getloadavg()[0],
            }
        )
        print(
            f"[{size_label(n)} {index_kind} {pool_filter}] {checkpoint} labels: "
            f"wait {points[-1]['median']['total']:.3f} s, subpool {points[-1]['median']['subpool']:.3f} s",
            file=sys.stderr,
            flush=True,
        )
    checks = getattr(index, "recalls_", [])
    return {
        "n": n,
        "index": index_kind,
        "index_class": type(index).__name__,
        "filter": pool_filter,
        "build_seconds": build_s,
        "points": points,
        "recall_checks": len(checks),
        "min_checked_recall": min(checks) if checks else None,
        "fallbacks": getattr(index, "fallbacks_", None),
    }


def render(results: list[dict], args) -> str:
    rows = []
    for r in results:
        first = r["points"][0]["median"]
        for p in r["points"]:
            m = p["median"]
            rows.append(
                [
                    size_label(r["n"]),
                    f"{r['filter']} / {r['index_class']}",
                    p["labels"],
                    m["total"],
                    m["train"],
                    m["subpool"],
                    m["strategy"],
                    m["subpool_cpu"],
                    m["anchors"],
                    m["subpool_cpu"] - m["anchors"],
                    m["subpool_cpu"] / first["subpool_cpu"] if first["subpool_cpu"] else None,
                    p["labelled_minority_share"],
                    p["load_average"],
                ]
            )
    table = markdown_table(
        [
            "pool",
            "filter / index",
            "labels",
            "median wait (s)",
            "train (s)",
            "subpool (s)",
            "strategy (s)",
            "subpool CPU (s)",
            "of which anchors CPU (s)",
            "search + scoring CPU (s)",
            "subpool CPU / at 100 labels",
            "minority share of the labels",
            "load average (2 cores)",
        ],
        rows,
    )
    lines = [
        f"## Late in a run: waiting time from {CHECKPOINTS[0]} to {CHECKPOINTS[-1]:,} labels",
        "",
        f"Synthetic clustered pools of `speed.py` (1% minority), default learner (logistic regression on the "
        f"embeddings), entropy, A=10, K=50, M=1,000. From the paper's initial set (100 labels, 5 minority) the "
        f"loop runs to 5,000 labels; at each checkpoint, {args.measure} consecutive iterations of b=25 are "
        f"measured (medians below); between checkpoints it moves on with batches of {args.stride} chosen by the "
        "same filter and strategy, so labels gather near the anchors as in a real run. `subpool` is the filter's "
        "own cost (anchors + nearest-neighbour search + scoring); `train` grows with the labelled set whatever "
        "the filter. The machine was shared (load average, 1 min, 2 cores, in the last column): wall times move "
        "with the other jobs, so flatness is judged on the CPU time of the subpool (this process, all threads), "
        "which does not; the anchors' CPU time is measured by running the same selection on its own.",
        "",
        table,
        "",
    ]
    checks = []
    for r in results:
        first, last = r["points"][0]["median"], r["points"][-1]["median"]
        ratio = last["subpool_cpu"] / first["subpool_cpu"] if first["subpool_cpu"] else float("nan")
        verdict = "flat" if ratio <= FLAT_RATIO else "NOT flat"
        search0, search1 = first["subpool_cpu"] - first["anchors"], last["subpool_cpu"] - last["anchors"]
        extra = ""
        if r["recall_checks"]:
            extra = (
                f"; recall checks: {r['recall_checks']}, lowest {r['min_checked_recall']:.3f}, "
                f"queries answered exactly after a failed check: {r['fallbacks']}"
            )
        checks.append(
            f"- {size_label(r['n'])}, {r['filter']} / {r['index_class']}: subpool CPU {first['subpool_cpu']:.3f} s at "
            f"{r['points'][0]['labels']:,} labels, {last['subpool_cpu']:.3f} s at {r['points'][-1]['labels']:,} "
            f"({ratio:.2f}x): {verdict} (wall {first['subpool']:.3f} -> {last['subpool']:.3f} s); whole wait "
            f"{first['total']:.3f} s -> {last['total']:.3f} s; of the subpool's CPU, the anchors (k-means++ over each "
            f"class's labelled items, which grows with them by the method's definition) {first['anchors']:.3f} -> "
            f"{last['anchors']:.3f} s and the "
            f"nearest-neighbour search and scoring {search0:.3f} -> {search1:.3f} s{extra}."
        )
    lines += ["### Flat late in the run?", "", *checks, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="100k:auto,1M:auto,20k:hnsw", help="pool size:index pairs")
    parser.add_argument("--index", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--filters", default="anchoral")
    parser.add_argument("--measure", type=int, default=3, help="iterations measured at each checkpoint")
    parser.add_argument("--stride", type=int, default=250, help="batch size between checkpoints")
    parser.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)), help="labelled counts measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--section", default="late_wait")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--filter", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    root = cache_root(args.cache_dir)
    if args.child:
        checkpoints = [int(c) for c in args.checkpoints.split(",")]
        print(
            json.dumps(
                measure(args.n, args.index, args.filter, root, args.measure, args.stride, args.seed, checkpoints)
            )
        )
        return 0
    results = []
    for spec in [r for r in args.runs.split(",") if r.strip()]:
        size, index_kind = spec.split(":")
        n = parse_size(size)
        cached_pool(n, root)
        for pool_filter in args.filters.split(","):
            cmd = [sys.executable, __file__, "--child", "--n", str(n), "--filter", pool_filter, "--index", index_kind]
            cmd += ["--measure", str(args.measure), "--stride", str(args.stride), "--seed", str(args.seed)]
            cmd += ["--checkpoints", args.checkpoints]
            if args.cache_dir:
                cmd += ["--cache-dir", args.cache_dir]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
            if done.returncode:
                raise SystemExit(f"{size_label(n)} {pool_filter} failed")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"[{size_label(n)} {pool_filter}] done in {time.perf_counter() - t0:.0f} s", flush=True)
    text = render(results, args)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.section}.json").write_text(
            json.dumps({"command": command_line(), "produced": now(), "results": results}, indent=1)
        )
        write_section(args.section, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
