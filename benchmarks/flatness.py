"""The paper's claim 1 with the default settings: the wait per iteration against pool size, early
and late in a run, with the whole pool's wait beside it.

One loop per pool size (the synthetic clustered pools of ``speed.py``, 384-d like MiniLM, 1%
minority; 10M is memory-mapped from disk), the default filter, learner, strategy and index, as a
session runs them: after each proposal the person reads the batch, and meanwhile the next
subpool's neighbour lists are fetched ahead (:func:`~anchoral_widget.engine.loop.proposing.
neighbours_ahead`, what the session's lookahead thread runs); then the batch is answered and the
next one proposed. The wait is that proposal's wall time. Measured at each checkpoint (the paper's
initial 100 labels, then 5,000): ``--measure`` consecutive iterations of b=25. Between checkpoints
the loop moves on with batches of ``--stride``; the lists of every labelled item are then fetched
(as a session holds them by then, one batch at a time) and that time is reported, not counted.

Every measured subpool is checked against a fresh exact search of the same anchors (up to
``--check`` per checkpoint): with exact search the lists must give the same items; with an
approximate index (FAISS at 10M) the share of exact's rare items it kept is reported. On a machine with a
CUDA device, exact search runs there (``ExactIndex.on_device``) and ``auto`` is exact search up to
what the device holds; the index column says which.

The whole pool (``none``: the learner scores every unlabelled item) is measured at the first
checkpoint, a few iterations (``--full-measure``).

    .venv/bin/python benchmarks/flatness.py                          # 10k, 100k, 1M, 10M
    .venv/bin/python benchmarks/flatness.py --sizes 10k,100k --no-write   # quick
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

CHECKPOINTS = (100, 5000)
FLAT_RATIO = 1.5  # the most the wait at a size may be of the wait at the smallest size
MAX_WAIT_1M = 0.3
MAPPED_FROM = 5_000_000  # pools this large are memory-mapped from disk, as a session keeps them
# an approximate index is built at the loop's first proposal here; a session builds it in the
# background while exact search serves the first batches
BUILT_IN_WAIT = ", and the index built in it: a session builds it behind exact search"


def load_pool(n: int, root: Path):
    if n < MAPPED_FROM:
        return cached_pool(n, root)
    from scale_out_pool import pool_name, write_pool

    mapped, labels, _ = write_pool(root / f"pool-{pool_name(n)}.npy", n, 0)
    return mapped, labels.astype(np.int64)


def exact_subpool(loop, exact) -> np.ndarray:
    """The subpool of the loop's anchors now, by a fresh exact search (``exact``, no list kept)."""
    from anchoral_widget.engine.loop.proposing import pool_state
    from anchoral_widget.engine.method.filters import AnchorAL

    cfg = loop.config
    size, outside = cfg["subpool_size"], cfg["outside_sample"]  # the same draw from beyond the anchors
    fresh = AnchorAL(cfg["anchors_per_class"], cfg["neighbours"], size, outside=outside, reuse_lists=False)
    state = pool_state(loop, None)
    state.index = exact
    return fresh(state).ids


def measure(n: int, pool_filter: str, root: Path, args) -> dict:
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.loop.proposing import neighbours_ahead
    from anchoral_widget.engine.search.exact import ExactIndex
    from anchoral_widget.replay.simulation import initial_sample

    exact = None  # made at the first check: the loop's own when it is exact search

    X, y = load_pool(n, root)
    loop = ActiveLoop(X, classes=[0, 1], minority=[1], pool_filter=pool_filter, seed=args.seed)
    initial = initial_sample(y, [1], size=CHECKPOINTS[0], per_minority_class=5, seed=args.seed)
    loop.label(initial, y[initial])
    lists = getattr(loop.pool_filter, "lists", None)
    t0 = time.perf_counter()
    first = loop.propose()  # the first batch after the seeds: its anchors are searched in the wait
    first_wall = time.perf_counter() - t0
    loop.label(first.batch_ids, y[first.batch_ids])
    checkpoints = [c for c in args.checkpoints if pool_filter == "anchoral" or c == args.checkpoints[0]]
    measure_n = args.measure if pool_filter == "anchoral" else args.full_measure
    points = []
    for checkpoint in checkpoints:
        while len(loop.labels) < checkpoint:
            p = loop.propose(batch_size=min(args.stride, checkpoint - len(loop.labels)))
            loop.label(p.batch_ids, y[p.batch_ids])
        t0 = time.perf_counter()
        job = neighbours_ahead(loop, np.empty(0, dtype=np.int64))
        if job is not None:
            job()  # every labelled item's list, as a session holds them by now
        bulk = time.perf_counter() - t0
        p = loop.propose()
        rows, mismatches, checked, rare_kept = [], 0, 0, []
        for i in range(measure_n):
            t0 = time.perf_counter()
            job = neighbours_ahead(loop, p.batch_ids)
            if job is not None:
                job()  # while the person reads the batch
            ahead = time.perf_counter() - t0
            loop.label(p.batch_ids, y[p.batch_ids])
            searched = lists.searched if lists is not None else 0
            t0, c0 = time.perf_counter(), time.process_time()
            p = loop.propose()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append(
                dict(
                    p.seconds,
                    wall=wall,
                    cpu=cpu,
                    ahead=ahead,
                    searched_in_wait=(lists.searched - searched) if lists is not None else None,
                    subpool_size=len(p.subpool_ids),
                )
            )
            if lists is not None and i < args.check:
                if exact is None:
                    exact = loop.index if isinstance(loop.index, ExactIndex) else ExactIndex(X, device="cpu")
                truth = exact_subpool(loop, exact)
                checked += 1
                mismatches += int(not np.array_equal(np.sort(p.subpool_ids), np.sort(truth)))
                rare = truth[y[truth] == 1]
                rare_kept.append(float(np.isin(rare, p.subpool_ids).mean()) if len(rare) else 1.0)
        med = {
            k: float(np.median([r[k] for r in rows])) for k in ("wall", "cpu", "train", "subpool", "strategy", "ahead")
        }
        points.append(
            {
                "labels": checkpoint,
                "rows": rows,
                "median": med,
                "max_wall": float(max(r["wall"] for r in rows)),
                "searched_in_wait": sum(r["searched_in_wait"] or 0 for r in rows),
                "bulk_lists_seconds": bulk,
                "checked": checked,
                "mismatches": mismatches,
                "rare_kept": float(np.mean(rare_kept)) if rare_kept else None,
                "rare_kept_min": float(np.min(rare_kept)) if rare_kept else None,
                "load_average": os.getloadavg()[0],
            }
        )
        print(
            f"[{size_label(n)} {pool_filter}] {checkpoint} labels: wait {med['wall']:.3f} s "
            f"(train {med['train']:.3f}, subpool {med['subpool']:.3f}), ahead {med['ahead']:.3f} s, "
            f"subpools equal to exact {checked - mismatches}/{checked}, rare items kept "
            f"{np.mean(rare_kept) if rare_kept else float('nan'):.3f}",
            file=sys.stderr,
            flush=True,
        )
    return {
        "n": n,
        "filter": pool_filter,
        "index_class": type(loop.index).__name__ + (" on CUDA" if getattr(loop.index, "on_device", None) else ""),
        "mapped": isinstance(X, np.memmap),
        "first_wall": first_wall,
        "points": points,
    }


def selection(point: dict) -> float:
    """The filter's and the strategy's part of the wait (the median of each): what the pool's
    size could change; training depends on the labelled set alone."""
    return point["median"]["subpool"] + point["median"]["strategy"]


def render(results: list[dict], args) -> str:
    rows = []
    for r in results:
        for p in r["points"]:
            m = p["median"]
            rows.append(
                [
                    size_label(r["n"]) + (" (mapped)" if r["mapped"] else ""),
                    f"{r['filter']} / {r['index_class']}",
                    p["labels"],
                    m["wall"],
                    p["max_wall"],
                    m["train"],
                    m["subpool"],
                    m["strategy"],
                    p["searched_in_wait"],
                    m["ahead"],
                    f"{p['checked'] - p['mismatches']}/{p['checked']}" if p["checked"] else "",
                    "" if p.get("rare_kept") is None else f"{p['rare_kept']:.3f} (min {p['rare_kept_min']:.3f})",
                    p["load_average"],
                ]
            )
    table = markdown_table(
        [
            "pool",
            "filter / index",
            "labels",
            "median wait (s)",
            "worst wait (s)",
            "train (s)",
            "subpool (s)",
            "strategy (s)",
            "items searched in the waits",
            "lists fetched ahead, per batch (s)",
            "subpools equal to exact search's",
            "exact's rare items kept",
            "load average (2 cores)",
        ],
        rows,
    )
    anchoral = {r["n"]: r for r in results if r["filter"] == "anchoral"}
    full = {r["n"]: r for r in results if r["filter"] == "none"}
    smallest = min(anchoral) if anchoral else None
    verdicts = []
    for n, r in sorted(anchoral.items()):
        parts = []
        for p, base in zip(r["points"], anchoral[smallest]["points"]):
            ratio = p["median"]["wall"] / base["median"]["wall"]
            select = selection(p) / selection(base)
            parts.append(
                f"at {p['labels']:,} labels {p['median']['wall']:.3f} s, {ratio:.2f}x the wait at "
                f"{size_label(smallest)} ({'flat' if ratio <= FLAT_RATIO else 'NOT flat'}; training "
                f"{p['median']['train']:.3f} s against {base['median']['train']:.3f} s, the subpool and the "
                f"strategy {selection(p):.3f} s against {selection(base):.3f} s, {select:.2f}x)"
            )
        line = f"- {size_label(n)}: " + "; ".join(parts)
        built = r["index_class"] != "ExactIndex"
        if n == 1_000_000:
            worst = max(p["median"]["wall"] for p in r["points"])
            line += f"; at most {MAX_WAIT_1M} s at 1M: {'met' if worst <= MAX_WAIT_1M else 'NOT met'}"
        if n in full:
            line += f"; the whole pool waits {full[n]['points'][0]['median']['wall']:.3f} s at 100 labels"
        line += (
            f"; the first batch after the seeds (20 anchors searched in the wait{BUILT_IN_WAIT if built else ''}) "
            f"{r['first_wall']:.3f} s"
            f"; the lists of all {r['points'][-1]['labels']:,} labelled items took "
            f"{r['points'][-1]['bulk_lists_seconds']:.1f} s to fetch at once."
        )
        verdicts.append(line)
    lines = [
        "## Flat: the wait per iteration against pool size, with the default settings",
        "",
        "Synthetic clustered pools (`_common.synthetic_pool`, 384-d, 1% minority; 10M memory-mapped "
        "from a float16 file), the default filter (anchoral, A=10, K=50, M=1,000), learner (logistic "
        "regression on the embeddings), strategy (entropy) and index (`auto`: exact search up to 1M). "
        "As a session runs it: while the person reads a batch, the next subpool's neighbour lists are "
        "fetched ahead (`lists fetched ahead`, off the wait); the wait is the next proposal's wall "
        f"time. {args.measure} consecutive iterations of b=25 per checkpoint (medians); between "
        f"checkpoints batches of {args.stride}. `items searched in the waits`: anchors whose list was "
        "not held when the proposal needed it (0: no sweep of the pool in any wait). Each subpool is "
        "compared with a fresh exact search of the same anchors. `none` scores the whole pool.",
        "",
        table,
        "",
        "### The paper's claim 1, per size",
        "",
        *verdicts,
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M,10M")
    parser.add_argument("--full-sizes", default="10k,100k,1M", help="sizes where the whole pool is measured too")
    parser.add_argument("--measure", type=int, default=20)
    parser.add_argument("--full-measure", type=int, default=3)
    parser.add_argument("--check", type=int, default=20, help="subpools compared with exact search per checkpoint")
    parser.add_argument("--stride", type=int, default=250)
    parser.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--section", default="flatness")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--render", action="store_true", help="write the section again from the stored results")
    args = parser.parse_args(argv)
    args.checkpoints = [int(c) for c in str(args.checkpoints).split(",")]
    if args.render:
        stored = json.loads((RESULTS / f"{args.section}.json").read_text())
        write_section(args.section, render(stored["results"], args), stored["command"], stored["produced"])
        return 0
    root = cache_root(args.cache_dir)
    if args.child:
        size, pool_filter = args.child.split(":")
        print(json.dumps(measure(parse_size(size), pool_filter, root, args)))
        return 0
    runs = [(s, "anchoral") for s in args.sizes.split(",") if s]
    runs += [(s, "none") for s in args.full_sizes.split(",") if s and s in args.sizes.split(",")]
    results = []
    for size, pool_filter in runs:
        cmd = [sys.executable, __file__, "--child", f"{size}:{pool_filter}", "--seed", str(args.seed)]
        cmd += ["--measure", str(args.measure), "--full-measure", str(args.full_measure), "--check", str(args.check)]
        cmd += ["--stride", str(args.stride), "--checkpoints", ",".join(map(str, args.checkpoints))]
        if args.cache_dir:
            cmd += ["--cache-dir", args.cache_dir]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"{size} {pool_filter} failed")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"[{size} {pool_filter}] done in {time.perf_counter() - t0:.0f} s", flush=True)
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
