"""Encoding throughput: the package's ``Encoder`` (chunked on-disk cache, checksums, progress bar)
against plain sentence-transformers ``encode`` on the same texts and the same model.

Both load the bundled all-MiniLM-L6-v2 first (load time not counted), then encode the same
``--n`` texts of a bundled dataset, alternating, ``--repeats`` times each; the table gives the
best time of each. ``Encoder`` starts from an empty cache every time, so its time includes
hashing the texts, writing the chunks with their checksums and consolidating them into one file.
A second ``Encoder.encode`` on the same texts (a cache hit) is timed too.

    .venv/bin/python benchmarks/encoding.py
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_section

OVERHEAD_TARGET = 0.10  # the cache and the progress bar may cost at most this share of a plain encode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="tweets-sentiment")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder, default_model_path

    torch.manual_seed(args.seed)
    texts = list(load_dataset(args.dataset, seed=args.seed).texts)
    rng = np.random.default_rng(args.seed)
    texts = [texts[i] for i in np.sort(rng.choice(len(texts), size=min(args.n, len(texts)), replace=False))]

    t0 = time.perf_counter()
    plain = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    load_s = time.perf_counter() - t0
    scratch = Path(tempfile.mkdtemp(prefix="anchoral-encoding-bench-"))
    try:
        ours = Encoder(device="cpu", cache_dir=scratch, progress=True)
        _ = ours.dim  # loads the model
        plain.encode(texts[:64], batch_size=64)  # warm-up, both share nothing but the machine
        ours._encode_chunk(texts[:64])

        plain_times, our_times, plain_cpu, our_cpu = [], [], [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            ref = plain.encode(
                texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
            plain_times.append(time.perf_counter() - t0)
            plain_cpu.append(time.process_time() - c0)
            shutil.rmtree(scratch / "embeddings", ignore_errors=True)
            t0, c0 = time.perf_counter(), time.process_time()
            got = ours.encode(texts)
            our_times.append(time.perf_counter() - t0)
            our_cpu.append(time.process_time() - c0)
            print(
                f"plain {plain_times[-1]:.1f} s ({plain_cpu[-1]:.1f} s CPU), "
                f"Encoder {our_times[-1]:.1f} s ({our_cpu[-1]:.1f} s CPU)",
                flush=True,
            )
        t0 = time.perf_counter()
        ours.encode(texts)
        hit_s = time.perf_counter() - t0
        diff = float(np.abs(np.asarray(got) - ref).max())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    best_plain, best_ours = min(plain_times), min(our_times)
    overhead = best_ours / best_plain - 1
    # the machine may be shared: CPU time and the ratio within each alternating pair are steadier
    pair = float(np.median([o / p for o, p in zip(our_times, plain_times)])) - 1
    cpu = float(np.median(our_cpu)) / float(np.median(plain_cpu)) - 1
    pairs = ", ".join(f"{p:.1f}/{o:.1f}" for p, o in zip(plain_times, our_times))
    n = len(texts)
    rows = [
        ["sentence-transformers `encode` (batch 64, normalised)", best_plain, n / best_plain, "-"],
        ["`Encoder.encode`, empty cache (progress bar on)", best_ours, n / best_ours, f"{overhead:+.1%}"],
        ["`Encoder.encode`, cache hit", hit_s, n / hit_s, "-"],
    ]
    text = "\n".join(
        [
            "## Encoding throughput",
            "",
            f"{n:,} texts of {args.dataset} (median {np.median([len(t.split()) for t in texts]):.0f} words), bundled "
            f"all-MiniLM-L6-v2 on the CPU (torch {torch.__version__}, {torch.get_num_threads()} threads); model load "
            f"{load_s:.1f} s not counted; best of {args.repeats} alternating runs. Largest difference between the two "
            f"results: {diff:.1e}.",
            "",
            markdown_table(["encoder", "seconds", "texts per s", "overhead"], rows),
            "",
            f"- Wall time of each alternating pair (plain/Encoder, s): {pairs}; median ratio within a pair: "
            f"{pair:+.1%}. CPU time (both threads), medians: plain {float(np.median(plain_cpu)):.1f} s, Encoder "
            f"{float(np.median(our_cpu)):.1f} s ({cpu:+.1%}).",
            f"- Caching and progress overhead, best wall times: {overhead:+.1%}; within pairs: {pair:+.1%}; CPU time: "
            f"{cpu:+.1%} (target <= {OVERHEAD_TARGET:.0%}): {'met' if max(pair, cpu) <= OVERHEAD_TARGET else 'NOT met'} by the pair and CPU "
            "measures. On a busy machine the same plain encode can vary by half from one run to the next, so the "
            "best-of comparison alone is not conclusive.",
            "",
        ]
    )
    print(text)
    if not args.no_write:
        write_section("encoding", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
