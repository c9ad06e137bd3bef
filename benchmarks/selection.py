"""Labelling a selection from the map: how long the kernel's thread is held by a command that
labels 100,000 texts at once (it must not block: the texts are stored in the background), how
long the background storing takes, the undo of the whole selection, and the size of the one
store row it writes.

A session without a map (what is measured is the session and the store), on a synthetic pool
of ``--pool`` items (``_common.synthetic_pool``), a label store in a temporary folder (SQLite,
synchronous=FULL: the row is on disk before the labels count as stored), 4 seed labels.

    .venv/bin/python benchmarks/selection.py                  # 200k pool, 1k / 10k / 100k selections
    .venv/bin/python benchmarks/selection.py --no-write       # print only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, synthetic_pool, write_section

from anchoral_widget.session.startup import build_session


def measure(n_pool: int, sizes: list[int], repeats: int) -> list[list]:
    X, y = synthetic_pool(n_pool, seed=0)
    texts = [f"text {i}" for i in range(n_pool)]
    rows = []
    for size in sizes:
        command, stored, undone, row_bytes = [], [], [], []
        for r in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                rng = np.random.default_rng(r)
                seeds = {int(i): "other" for i in np.flatnonzero(y == 0)[:2]}
                seeds.update({int(i): "rare" for i in np.flatnonzero(y == 1)[:2]})
                session = build_session(
                    texts, ["other", "rare"], ["rare"], embeddings=X, seed_labels=seeds, map=False,
                    store=Path(tmp) / "labels.db", index="exact", seed=0,
                )  # fmt: skip
                session.start()
                assert session.wait(600)
                taken = set(session.loop.labels) | {c["id"] for c in session.snapshot()["batch"]}
                free = np.setdiff1d(np.arange(n_pool), np.fromiter(taken, dtype=np.int64))
                ids = rng.choice(free, size, replace=False).tolist()
                t0 = time.perf_counter()
                session.handle({"kind": "label_selection", "ids": ids, "label": "other"})
                t1 = time.perf_counter()
                assert session.wait(600)
                t2 = time.perf_counter()
                assert len(session.loop.events[-1].ids) == size and session.loop.events[-1].source == "map"
                row_bytes.append(
                    len(session.loop.store._db.execute("SELECT payload FROM log ORDER BY seq DESC").fetchone()[0])
                )
                t3 = time.perf_counter()
                session.handle({"kind": "undo_selection"})
                assert session.wait(600)
                undone.append(time.perf_counter() - t3)
                command.append(t1 - t0)
                stored.append(t2 - t1)
                session.close(wait=True)
                session.loop.store.close()
        med = lambda v: float(np.median(v))
        rows.append(
            [
                f"{size:,}",
                f"{med(command) * 1000:.0f} ms",
                f"{med(stored):.2f} s",
                f"{med(undone):.2f} s",
                f"{med(row_bytes) / 1e6:.2f} MB",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=200_000)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = measure(args.pool, [int(s) for s in args.sizes.split(",")], args.repeats)
    table = markdown_table(
        ["selected texts", "command (kernel thread)", "stored in the background", "undo (background)", "store row"],
        rows,
    )
    body = f"""## Labelling a selection from the map

A selection of texts labelled as one event (`label_selection`) on a {args.pool:,}-item pool:
how long the command holds the kernel's thread (checking the ids and holding the open texts; the
storing runs on the session's worker), how long the storing takes (the loop's event, the SQLite
row committed with synchronous=FULL, the session's label snapshot), the undo of the whole
selection, and the size of its one store row. Medians of {args.repeats} runs, no map.

{table}
"""
    print(body)
    if not args.no_write:
        write_section("selection", body)


if __name__ == "__main__":
    main()
