"""Which encoder: speed on 2 CPU cores against what the loop finds with its vectors.

Encoders (see ``anchoral_widget.engine.vectors.encoder_kinds``): ``minilm`` (the bundled all-MiniLM-L6-v2 on
torch, the reference), ``onnx`` (its ONNX export), ``onnx-int8`` (the export quantised to int8)
and ``fast`` (model2vec static embeddings distilled from it, PCA 256).

1. Build: the seconds each locally built encoder takes the first time (once per machine).
2. Speed: ``--speed-n`` texts of each dataset through ``Encoder(name, cache_dir=False)`` on the
   CPU, model loaded first; wall and CPU seconds. ``fast`` also encodes 100,000 texts through the
   full cached path (fingerprint, chunks, checksums, consolidation), as a session does.
3. Neighbours: on each dataset's pool, the 10 nearest neighbours of ``--queries`` random items
   against MiniLM's (recall@10), and the minority share of a minority item's 50 nearest
   neighbours (what AnchorAL's subpools draw on).
4. The loop: for each encoder, dataset and seed, ``benchmarks/claims.py``'s ``run_one`` (paper's
   initial set, budget ``--budget``, b=25, A=10, K=50, M=1,000; exact neighbour search) for
   anchoral and randsub (M=10,000), reporting minority found and minority-F1 AUC.

Pools are capped at ``--max-size`` (stratified, the 1% minority kept); the embeddings are cached
(``$ANCHORAL_CACHE``), so a second run only redoes the loops.

    .venv/bin/python benchmarks/encoders.py
    .venv/bin/python benchmarks/encoders.py --encoders minilm,fast --seeds 0 --budget 200 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, command_line, markdown_table, now, write_section
from claims_runs import run_one, variant
from paired_seeds import mean_sd

DEFAULT_ENCODERS = "minilm,onnx,onnx-int8,fast"


def build_times(names: list[str]) -> dict[str, float | None]:
    """Seconds to build each locally built encoder now; None when it was already built."""
    from anchoral_widget.engine.vectors import encoder_kinds
    from anchoral_widget.engine.vectors.encoder import models_dir

    out = {}
    for name in names:
        spec = encoder_kinds.resolve(name)
        if not spec.derived:
            continue
        folder = models_dir() / encoder_kinds.model_identity(spec)
        info = folder / "anchoral-build.json"
        if info.is_file():
            out[name] = json.loads(info.read_text()).get("seconds")
            continue
        t0 = time.perf_counter()
        encoder_kinds.build_model(spec, models_dir(), progress=True)
        out[name] = time.perf_counter() - t0
    return out


def speed(name: str, texts: list[str]) -> dict:
    from anchoral_widget.engine.vectors.encoder import Encoder

    enc = Encoder(name, device="cpu", cache_dir=False, progress=False)
    t0 = time.perf_counter()
    enc._get_model()
    load = time.perf_counter() - t0
    enc.encode(texts[:32])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    X = enc.encode(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"load_s": load, "wall_s": wall, "cpu_s": cpu, "n": len(texts), "X": X}


def cached_path_100k(texts: list[str]) -> dict:
    """``fast`` through the whole cached path on 100k texts, from an empty cache, then a hit."""
    from anchoral_widget.engine.vectors.encoder import Encoder

    with tempfile.TemporaryDirectory(prefix="anchoral-encoders-bench-") as scratch:
        enc = Encoder("fast", device="cpu", cache_dir=scratch, progress=False)
        enc._get_model()
        t0, c0 = time.perf_counter(), time.process_time()
        enc.encode(texts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        Encoder("fast", cache_dir=scratch, progress=False).encode(texts, mmap=True)
        hit = time.perf_counter() - t0
    return {"n": len(texts), "wall_s": wall, "cpu_s": cpu, "hit_s": hit}


def top_k(X: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = X[queries] @ X.T
    sims[np.arange(len(queries)), queries] = -np.inf  # not itself
    part = np.argpartition(-sims, k, axis=1)[:, :k]
    return part


def neighbours(
    Xs: dict[str, np.ndarray], reference: str, labels: np.ndarray, minority: list, n_queries: int, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(len(labels), size=min(n_queries, len(labels)), replace=False))
    is_min = np.isin(labels, minority)
    min_queries = np.flatnonzero(is_min)
    ref = top_k(Xs[reference], queries, 10) if reference in Xs else None
    out = {}
    for name, X in Xs.items():
        row = {}
        if ref is not None:
            mine = top_k(X, queries, 10)
            row["recall10"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(mine, ref)]))
        nn = top_k(X, min_queries, 50)
        row["minority_nn50"] = float(is_min[nn].mean())
        out[name] = row
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", default=DEFAULT_ENCODERS)
    parser.add_argument(
        "--quality-encoders",
        default="minilm,onnx-int8,fast",
        help="the encoders whose neighbours and loop are measured (onnx stands for minilm where the CPU is short)",
    )
    parser.add_argument("--reference", default="minilm", help="the encoder recall@10 is measured against")
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--max-size", type=int, default=20000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--configs", default="anchoral,randsub")
    parser.add_argument("--speed-n", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--section", default="encoders")
    parser.add_argument(
        "--reuse-speed",
        action="store_true",
        help="take the build and speed figures from the last results/<section>.json instead of measuring "
        "them again (the loops and embeddings are cached anyway)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    names = [n for n in args.encoders.split(",") if n]
    loop_names = [n for n in args.quality_encoders.split(",") if n]
    seeds = [int(s) for s in args.seeds.split(",")]
    configs = [c for c in args.configs.split(",") if c]
    root = cache_root(args.cache_dir)
    runs_dir = root / "encoder-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    load1 = os.getloadavg()[0]

    previous = None
    if args.reuse_speed:
        previous = json.loads((RESULTS / f"{args.section}.json").read_text())
        load1 = previous.get("load_average", load1)
    builds = previous["builds"] if previous else build_times(names)
    print("builds:", builds, flush=True)

    datasets = {name: load_dataset(name, seed=0, max_size=args.max_size) for name in args.datasets.split(",") if name}

    # speed: a seeded sample of each pool; `fast` gets every distinct pool text (a longer run to time)
    speeds: dict[str, dict] = {}
    rng = np.random.default_rng(0)
    sample: list[str] = []
    everything: list[str] = []
    for data in datasets.values():
        texts = list(data.texts)
        sample += [texts[i] for i in np.sort(rng.choice(len(texts), size=min(args.speed_n, len(texts)), replace=False))]
        everything += texts
    everything = list(dict.fromkeys(everything))  # distinct: an encoder encodes a repeat once
    sample_X, agree = {}, {}
    for name in [] if previous else names:
        result = speed(name, everything if name == "fast" else sample)
        X = result.pop("X")
        speeds[name] = result
        if name != "fast":
            sample_X[name] = X
        print(f"speed {name}: {result['n'] / result['wall_s']:.0f} texts/s (load {result['load_s']:.1f} s)", flush=True)
    for name in ("onnx", "onnx-int8"):
        if name in sample_X and "minilm" in sample_X:
            agree[name] = float(np.abs(sample_X[name] - sample_X["minilm"]).max())

    if previous:
        speeds, agree = previous["speeds"], previous["agree"]
    big = previous["cached_100k"] if previous else None
    if "fast" in names and not previous:
        pool_100k: list[str] = []
        seen = set()
        for name in ("icd10-eye", "tweets-sentiment"):
            full = load_dataset(name, seed=0)
            for t in list(full.texts) + list(full.test_texts):
                if t not in seen:
                    seen.add(t)
                    pool_100k.append(t)
        big = cached_path_100k(pool_100k[:100_000])
        print(f"fast, 100k through the cache: {big['wall_s']:.1f} s", flush=True)

    # neighbours and the loop
    quality: dict[str, dict] = {}
    loops: dict[str, dict] = {}
    for dname, data in datasets.items():
        labels = np.asarray(data.labels)
        Xs, Xt = {}, {}
        for name in loop_names:
            enc = Encoder(name, progress=False)
            t0 = time.perf_counter()
            Xs[name] = np.asarray(enc.encode(data.texts))
            Xt[name] = np.asarray(enc.encode(data.test_texts))
            print(f"{dname} {name}: encoded/loaded in {time.perf_counter() - t0:.0f} s", flush=True)
        quality[dname] = neighbours(Xs, args.reference, labels, list(data.minority), args.queries, seed=0)
        loops[dname] = {}
        for name in loop_names:
            loops[dname][name] = {}
            for config in configs:
                runs = []
                for seed in seeds:
                    path = runs_dir / f"{dname}-{args.max_size}-{name}-{config}-s{seed}-b{args.budget}.json"
                    if path.exists():
                        result = json.loads(path.read_text())
                    else:
                        result = run_one(variant(data, Xs[name], Xt[name], 0.01), "exact", config, seed, args.budget)
                        path.write_text(json.dumps(result))
                    runs.append(result)
                    print(
                        f"{dname} {name} {config} seed {seed}: found {result['minority_found']}, AUC {result['auc']:.2f}",
                        flush=True,
                    )
                loops[dname][name][config] = runs

    text = report(args, names, builds, speeds, agree, big, datasets, quality, loops, load1)
    if previous:
        text += f"\nBuild and speed figures: measured by `{previous['speed_measured_by']}`.\n"
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = {"builds": builds, "speeds": speeds, "agree": agree, "cached_100k": big, "neighbours": quality}
        out["load_average"] = load1
        out["speed_measured_by"] = previous["speed_measured_by"] if previous else f"{command_line()} on {now()}"
        out["loops"] = {
            d: {
                n: {c: [{k: r[k] for k in ("seed", "auc", "minority_found")} for r in rs] for c, rs in v.items()}
                for n, v in e.items()
            }
            for d, e in loops.items()
        }
        (RESULTS / f"{args.section}.json").write_text(json.dumps(out, indent=1))
        write_section(args.section, text)
    return 0


def report(args, names, builds, speeds, agree, big, datasets, quality, loops, load1) -> str:
    loop_names = list(next(iter(quality.values()))) if quality else []
    lines = [
        "## Encoders: speed against what the loop finds",
        "",
        "`minilm` is the bundled all-MiniLM-L6-v2 on torch (the reference); `onnx` its ONNX export "
        "(onnxruntime); `onnx-int8` the export with int8 weights (dynamic quantisation); `fast` static "
        "token embeddings distilled from it with model2vec (PCA 256, a text = the mean of its tokens' "
        f"vectors). CPU only, 2 cores shared with other work (load average {load1:.1f} at the start), so "
        "the wall times are noisy; CPU seconds are given too.",
        "",
        "### Speed",
        "",
    ]
    rows = []
    for name in names:
        s = speeds[name]
        rows.append(
            [
                name,
                builds.get(name),
                s["load_s"],
                s["n"],
                s["n"] / s["wall_s"],
                1000 * s["cpu_s"] / s["n"],
                1_000_000 / (s["n"] / s["wall_s"]) / 60,
            ]
        )
    lines += [
        markdown_table(
            [
                "encoder",
                "first build (s, once)",
                "load (s)",
                "texts",
                "texts per s",
                "CPU ms per text",
                "1M texts (min, at that rate)",
            ],
            rows,
        ),
        "",
        f"- Texts: {args.speed_n:,} drawn from each dataset's pool ({', '.join(datasets)}): short texts "
        f"(ICD-10 titles, tweets); `fast` encodes every distinct text of both pools ({speeds.get('fast', {}).get('n', 0):,}), "
        "a run long enough to time. Load: reading the model, after it was built.",
    ]
    for name, diff in agree.items():
        lines.append(f"- `{name}` against `minilm` on those texts: largest difference of a coordinate {diff:.2g}.")
    if big:
        lines.append(
            f"- `fast` through the whole cached path (fingerprint, chunks with checksums, consolidation) on "
            f"{big['n']:,} distinct texts of both datasets: {big['wall_s']:.1f} s wall, {big['cpu_s']:.1f} s CPU, "
            f"from an empty cache; a cache hit (memory map) {big['hit_s']:.2f} s."
        )
    lines += ["", "### Neighbours and the loop", ""]
    lines.append(
        f"Pools capped at {args.max_size:,} (stratified, 1% minority). Recall@10: of an item's 10 nearest "
        f"neighbours by `{args.reference}`, the share the encoder also puts in its 10 nearest ({args.queries:,} random "
        "items). Minority NN@50: the minority share of a minority item's 50 nearest neighbours. Loop: "
        f"`claims.run_one`, the paper's initial set (100 items, 5 minority), budget {args.budget}, b=25, A=10, "
        "K=50, M=1,000 (randsub M=10,000), exact search, default learner; mean ± sd over seeds "
        f"{args.seeds}."
    )
    if "minilm" not in loop_names and "onnx" in loop_names:
        lines.append(
            "The MiniLM figures come from its ONNX export (`onnx`), whose vectors agree with torch's to float "
            "rounding (above) and which costs less CPU on this shared machine."
        )
    lines.append("")
    for dname, data in datasets.items():
        lines += [
            f"#### {dname}: pool {len(data.texts):,}, test {len(data.test_texts):,}, minority {data.minority}",
            "",
        ]
        rows = []
        for name in loop_names:
            q = quality[dname][name]
            row = [name, q.get("recall10"), q["minority_nn50"]]
            for config in args.configs.split(","):
                runs = loops[dname].get(name, {}).get(config, [])
                row += [mean_sd([r["minority_found"] for r in runs]), mean_sd([r["auc"] for r in runs])]
            rows.append(row)
        headers = ["encoder", f"recall@10 vs {args.reference}", "minority NN@50"]
        for config in args.configs.split(","):
            headers += [f"{config}: minority found", f"{config}: minority-F1 AUC"]
        lines += [markdown_table(headers, rows), ""]
    lines += verdict(args, speeds, loops, loop_names)
    return "\n".join(lines)


def verdict(args, speeds: dict, loops: dict, loop_names: list[str]) -> list[str]:
    """What the tables say about the goal (100k texts in 30 s, 1M in 5 min, to the first batch, on 2
    cores, with no loss in what the loop finds), computed from them."""
    ref = args.reference
    out = [
        "### What the figures say",
        "",
        "Rates on this shared machine (see the load average above) are lower than on an idle one; the "
        "ratios between encoders are what carries over.",
        "",
    ]
    for name, s in speeds.items():
        rate = s["n"] / s["wall_s"]
        out.append(
            f"- `{name}`: 100,000 texts in {100_000 / rate:,.0f} s, 1,000,000 in {1_000_000 / rate / 60:,.1f} min "
            f"at the rate measured here (goal: 30 s and 5 min, including the rest of the first batch)."
        )
    for dname, by_name in loops.items():
        base = by_name.get(ref, {}).get("anchoral")
        if not base:
            continue
        found0 = np.mean([r["minority_found"] for r in base])
        auc0 = np.mean([r["auc"] for r in base])
        for name in loop_names:
            if name == ref or "anchoral" not in by_name.get(name, {}):
                continue
            runs = by_name[name]["anchoral"]
            found = np.mean([r["minority_found"] for r in runs])
            auc = np.mean([r["auc"] for r in runs])
            out.append(
                f"- {dname}, anchoral, `{name}` against `{ref}`: minority found {found:.1f} vs {found0:.1f} "
                f"({found / found0 - 1:+.0%}), minority-F1 AUC {auc:.2f} vs {auc0:.2f} ({auc / auc0 - 1:+.0%})."
            )
    rate = {name: s["n"] / s["wall_s"] for name, s in speeds.items()}
    if "fast" in rate and "onnx-int8" in rate and "minilm" in rate:
        out.append(
            f"- Only `fast` comes near the time goal: {rate['fast'] / rate['onnx-int8']:,.0f}x the rate of "
            f"`onnx-int8` and {rate['fast'] / rate['minilm']:,.0f}x that of `minilm`; `onnx` gives MiniLM's own "
            f"vectors {rate['onnx'] / rate['minilm']:.1f}x faster than torch. It is the default "
            '(`DEFAULT_ENCODER`), at the cost in minority found shown above; `encoder="onnx"` (or '
            '`"minilm"`) keeps MiniLM\'s neighbourhoods where the pool is small enough to wait for them.'
        )
    out.append("")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
