"""Past one machine: a 10M pool memory-mapped with the FAISS backend, and the Milvus backend
against milvus-lite.

FAISS part (``--part faiss``): N synthetic 384-d vectors (``_common``'s clustered pool, 1%
minority, generated block by block) are written as a float16 memory-mapped file, the loop's pool
is opened over it with ``index="faiss"`` (IVF-PQ, cached beside the pool), and the loop runs with
the default learner, entropy, A=10, K=50, M=1,000, b=25 from the paper's initial set (100 items,
5 of the minority), an oracle answering. Reported: time to write the file, index build time and
bytes, peak resident memory (and how much of it is the mapped file's pages, which the kernel can
drop, against the process's own memory), median wait per iteration split into training, subpool
and strategy, and recall@50 of the anchors' neighbours against exact search over the same
float16 vectors (a full scan per anchor, on the anchors of ``--recall-iterations`` iterations).

Milvus part (``--part milvus``): the first ``--milvus-n`` rows of the same pool are uploaded to a
milvus-lite server started on a loopback port (a child process), and the loop runs against it
through ``index="milvus://127.0.0.1:PORT/collection"``. milvus-lite is a local stand-in (pure
Python, exact search): its numbers show the client path works and what one round trip costs, not
what a Milvus cluster does.

    .venv/bin/python benchmarks/scale_out.py --part faiss --n 10M --scratch /tmp/scale-bench
    .venv/bin/python benchmarks/scale_out.py --part milvus --milvus-n 1M --scratch /tmp/scale-bench

The scratch folder holds the pool file (7.7 GB at 10M) and the index; ``--keep`` keeps them,
otherwise they are deleted at the end.
"""

from __future__ import annotations

import os
import re

# faiss-cpu ships an OpenBLAS that does not recognise some recent Xeons and falls back to its
# slowest kernel (3x slower k-means and assignment here); numpy's own OpenBLAS picks SkylakeX on
# this machine. Say which kernel to use unless the environment says so already.
_CORETYPE_SET_HERE = False
if "OPENBLAS_CORETYPE" not in os.environ:
    try:
        with open("/proc/cpuinfo") as _fh:
            if re.search(r"\bavx512f\b", _fh.read()):
                os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
                _CORETYPE_SET_HERE = True
    except OSError:
        pass

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import RESULTS, command_line, machine, now, parse_size, write_section  # noqa: E402
from scale_out_report import render  # noqa: E402
from scale_out_runs import part_faiss, part_milvus  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("faiss", "milvus", "both"), default="both")
    parser.add_argument("--n", type=parse_size, default=parse_size("10M"))
    parser.add_argument("--milvus-n", type=parse_size, default=parse_size("1M"))
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--milvus-iterations", type=int, default=3)
    parser.add_argument("--milvus-timeout", type=float, default=300.0, help="seconds one call to milvus-lite may take")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--recall-iterations", type=int, default=2)
    parser.add_argument(
        "--nprobes",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[64],
        help="also run at these cells per query",
    )
    parser.add_argument(
        "--compare-nbits",
        type=lambda t: [int(x) for x in t.split(",") if x],
        default=[8],
        help="also build the index with codes of these bits (classic IVF-PQ) and run the loop on it",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch", default="/tmp/anchoral-scale-out")
    parser.add_argument("--keep", action="store_true", help="keep the pool files and indexes in --scratch")
    parser.add_argument("--section", default="scale_out")
    args = parser.parse_args(argv)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"free disk at {scratch}: {shutil.disk_usage(scratch).free / 1e9:.0f} GB", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / f"{args.section}.json"
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results["machine"] = machine()
    notes = []
    if _CORETYPE_SET_HERE:
        notes.append(
            "OPENBLAS_CORETYPE=SkylakeX was set for this run: faiss-cpu's bundled OpenBLAS does not recognise "
            "this CPU and otherwise runs its generic kernel (k-means and cell assignment about 3x slower)."
        )
    try:
        if args.part in ("faiss", "both"):
            results["faiss"] = part_faiss(args, scratch)
            results["faiss"]["stamp"] = now()
            json_path.write_text(json.dumps(results, indent=1, default=str))
        if args.part in ("milvus", "both"):
            results["milvus"] = part_milvus(args, scratch)
            results["milvus"]["stamp"] = now()
            json_path.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results["notes"] = sorted(set(results.get("notes", []) + notes))
    json_path.write_text(json.dumps(results, indent=1, default=str))
    write_section(args.section, render(results), command_line())
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
