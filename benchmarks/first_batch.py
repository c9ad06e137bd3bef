"""Raw texts to the first batch: 10k / 100k / 1M short texts through the widget's start-up.

The pools are built from the bundled corpora: the ``icd10-eye`` pool (58k ICD-10-CM titles, the
eye chapter at 1%) and, as more "other", the brand tweets and the health-news tweets. Each class
is filled to its share (eye 1%) by cycling through its texts; a repeated text is varied with a
prefix and a suffix drawn for it (``"Update: Cataract, left eye (follow-up)"``), so no two items
of a pool are the same text. The held-out set is the ``icd10-eye`` test split (14.6k titles).

Every size runs in a fresh subprocess (its import time and peak memory are its own) along the
widget's own path: ``start_session`` (what ``Labeller(...)`` calls), seeded with the paper's
initial set (100 labels, 5 eye), then waiting for the first batch. Stages:

- import: ``import anchoral_widget`` and the session;
- encoder load: the encoder's model into memory (``fast`` is built from the bundled MiniLM once
  per machine, by ``bin/setup``: not counted);
- encode: the whole pool, cold (an embeddings cache of its own, emptied first);
- pool: hashing the texts and embeddings (the label store is named after it), the store, the loop;
- index: making the index the anchors query (exact search: nothing to build);
- first proposal: training, anchors, the anchors' exact kNN, subpool, strategy.

Then the first action of a cold start (a search by meaning), five more iterations answered from
the truth through the session's commands (the wait per iteration), the encoder upgrade's move to
MiniLM's vectors near the labels (when, and three iterations on them), then ``--paced`` iterations
at a person's pace (``--read`` seconds on each batch before it is answered: the next subpool's
neighbour lists are fetched ahead meanwhile, and the upgrade encodes), the peak resident memory, and
what the loop finds: ``--quality`` iterations of b=25 from the same seed labels, labelled by the
truth, scored on the test set (minority items found, minority-F1 AUC normalised by iterations).

    .venv/bin/python benchmarks/first_batch.py --sizes 10k,100k
    nice -n 10 .venv/bin/python benchmarks/first_batch.py --sizes 1M --merge
    .venv/bin/python benchmarks/first_batch.py --sizes 10k --encoders fast,minilm --merge
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, command_line, machine, now, parse_size, size_label, write_section
from first_batch_measure import measure
from first_batch_pools import cached_pool
from first_batch_report import render


def run_child(args, n: int, encoder: str, pool_path: Path, root: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", str(pool_path), "--encoder-name", encoder]
    cmd += ["--scratch", str(root / f"scratch-{size_label(n)}-{encoder}"), "--quality", str(args.quality)]
    cmd += ["--seed", str(args.seed)] + (["--map"] if args.map else [])
    cmd += ["--read", str(args.read), "--paced", str(args.paced)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"{size_label(n)} with {encoder} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--encoders", default="fast", help="encoder names, comma-separated")
    parser.add_argument("--quality", type=int, default=20, help="iterations of the quality run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--map", action="store_true", help="with the map, as the widget's default")
    parser.add_argument("--read", type=float, default=10.0, help="seconds a person reads each paced batch")
    parser.add_argument("--paced", type=int, default=5, help="iterations at a person's pace, after the others")
    parser.add_argument("--merge", action="store_true", help="keep earlier results of other sizes and encoders")
    parser.add_argument("--cache-dir")
    parser.add_argument("--render", action="store_true", help="only write the section again from the saved results")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--encoder-name", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = measure(
            Path(args.child),
            args.encoder_name,
            Path(args.scratch),
            args.quality,
            args.seed,
            args.map,
            args.read,
            args.paced,
        )
        shutil.rmtree(args.scratch, ignore_errors=True)
        print(json.dumps(out))
        return 0

    root = cache_root(args.cache_dir) / "first_batch"
    json_path = RESULTS / "first_batch.json"
    results = json.loads(json_path.read_text())["results"] if (args.merge or args.render) and json_path.exists() else []
    if args.render:
        saved = json.loads(json_path.read_text())
        path = write_section("first_batch", render(results, args), saved.get("command"), saved.get("when"))
        print(f"wrote {path}", file=sys.stderr)
        return 0
    for n in [parse_size(s) for s in args.sizes.split(",")]:
        pool_path = cached_pool(n, root)
        for encoder in args.encoders.split(","):
            print(f"{size_label(n)} with {encoder}…", file=sys.stderr, flush=True)
            r = run_child(args, n, encoder, pool_path, root)
            print(
                f"  first batch {r['first_batch_seconds']:.1f} s, stages {r['seconds']}, quality {r['quality']}",
                file=sys.stderr,
                flush=True,
            )
            results = [x for x in results if (x["n"], x["encoder"]) != (n, encoder)] + [r]
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps({"machine": machine(), "when": now(), "command": command_line(), "results": results}, indent=1)
    )
    path = write_section("first_batch", render(results, args), command_line())
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
