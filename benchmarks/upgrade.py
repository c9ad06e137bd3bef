"""What the loop finds when a session starts on `fast` and moves to MiniLM's vectors once they
are encoded in the background, against `fast` alone and `onnx` (MiniLM) alone; and whether a
static model distilled without PCA closes the gap by itself.

1. Rates: `onnx` on one thread (what the background upgrade gets), `onnx` on every core, the
   static models on one thread, over ``--speed-n`` texts of each pool. From the one-thread rate
   and ``--seconds-per-batch`` (a person's pace, an assumption), the number of batches a person
   labels while the upgrade encodes a pool of N texts: k = ceil(N / rate / seconds per batch).
2. Neighbours: recall@10 against `onnx` and the minority share of a minority item's 50 nearest
   neighbours (as in ``benchmarks/encoders.py``).
3. The loop: ``claims.run_one``'s setting (the paper's initial set, b=25, A=10, K=50, M=1,000,
   exact search, default learner, test set encoded by the same encoder) for each seed: `fast`
   alone, `onnx` alone, the static model without PCA alone, and `fast` switched to `onnx` after
   k batches (``--switch-at``; the test set switches with it). Paired over seeds against `onnx`.

Pools capped at ``--max-size`` (stratified, 1% minority), as in the encoders section.

    .venv/bin/python benchmarks/upgrade.py
    .venv/bin/python benchmarks/upgrade.py --seeds 0,1 --budget 200 --switch-at 1 --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, markdown_table, write_section
from claims_runs import start_loop, variant
from encoders import neighbours
from paired_seeds import mean_sd, paired

STATIC_FULL = "static-384"  # model2vec distilled from MiniLM without PCA: 384 dimensions


def distil_full(root: Path) -> tuple[Path, float | None]:
    """The static model without PCA (SIF weights as `fast`), built once into ``root``;
    (folder, seconds to build, None when found built)."""
    from anchoral_widget.engine.vectors.encoder_kinds import _SIF_COEFFICIENT, default_model_path

    folder = root / "models" / STATIC_FULL
    info = folder / "anchoral-build.json"
    if (folder / "config.json").is_file():
        return folder, json.loads(info.read_text())["seconds"] if info.is_file() else None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    t0 = time.perf_counter()
    model = distill(model_name=str(default_model_path()), pca_dims=None, sif_coefficient=_SIF_COEFFICIENT, device="cpu")
    seconds = time.perf_counter() - t0
    model.save_pretrained(str(folder))
    info.write_text(json.dumps({"seconds": seconds}))
    return folder, seconds


def rate(model, texts: list[str], threads: int | None) -> float:
    """Texts per second, model loaded first, no cache."""
    from anchoral_widget.engine.vectors.encoder import Encoder

    enc = Encoder(model, device="cpu", cache_dir=False, progress=False, threads=threads)
    enc.encode(texts[:32])
    t0 = time.perf_counter()
    enc.encode(texts)
    return len(texts) / (time.perf_counter() - t0)


def run(v, seed: int, budget: int, switch=None) -> dict:
    """``claims.run_one``'s anchoral run; ``switch=(k, X, X_test)``: after k batches, the loop
    moves to ``X`` (the test set to ``X_test``), as a session does when its upgrade is done."""
    from anchoral_widget.engine.loop.switch import switch_loop

    loop, initial = start_loop(v, "exact", "anchoral", seed)
    b = loop.config["batch_size"]
    first = 0 if switch is None else min(budget, switch[0] * b)
    if first:
        loop.simulate(v.labels, first)
    if switch is not None:
        switch_loop(loop, switch[1], switch[2])
    if budget - first:
        loop.simulate(v.labels, budget - first)
    return found(loop, initial, v, seed)


def found(loop, initial, v, seed: int) -> dict:
    """What a finished run found: minority items, the AUC of minority F1, per batch."""
    from anchoral_widget.replay.simulation import summarise

    summary = summarise(loop, initial, loop.evaluate(loop.train()))
    minority = set(v.minority)
    return {
        "seed": seed,
        "auc": summary["auc_minority_f1"],
        "minority_found": summary["minority_found"],
        "found_per_batch": [sum(c in minority for c in r.batch_labels) for r in loop.history],
        "subpool_minority_share": float(np.nanmean([r.minority_in_subpool for r in loop.history])),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--max-size", type=int, default=6000)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--switch-at", default="1,4,8,12", help="batches labelled on `fast` before the switch")
    parser.add_argument("--wait-iterations", type=int, default=30, help="0: skip the wait measurement")
    parser.add_argument("--full-budget", type=int, default=1000, help="the whole pools' runs; 0: skip them")
    parser.add_argument(
        "--full-switch-at",
        default="6,13",
        help="switch points for the whole pools besides the one the measured rate gives (the rate moves with the load)",
    )
    parser.add_argument("--seconds-per-batch", type=float, default=30.0)
    parser.add_argument("--speed-n", type=int, default=500)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--section", default="upgrade")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    seeds = [int(s) for s in args.seeds.split(",")]
    switches = [int(k) for k in args.switch_at.split(",") if k]
    root = cache_root()
    runs_dir = root / "upgrade-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    load1 = os.getloadavg()[0]
    static_folder, static_build = distil_full(root)
    print(f"{STATIC_FULL}: {static_folder} (built in {static_build} s)", flush=True)
    models = {"fast": "fast", "onnx": "onnx", STATIC_FULL: static_folder}

    datasets = {n: load_dataset(n, seed=0, max_size=args.max_size) for n in args.datasets.split(",") if n}
    rng = np.random.default_rng(0)
    sample = []
    for data in datasets.values():
        texts = list(data.texts)
        sample += [texts[i] for i in np.sort(rng.choice(len(texts), size=min(args.speed_n, len(texts)), replace=False))]
    distinct = list(dict.fromkeys(t for data in datasets.values() for t in data.texts))
    rates = {
        "onnx, 1 thread": rate("onnx", sample, 1),
        "onnx, every core": rate("onnx", sample, None),
        "fast": rate("fast", distinct, None),
        STATIC_FULL: rate(static_folder, distinct, None),
    }
    print("rates:", {k: round(v) for k, v in rates.items()}, flush=True)

    quality, loops = {}, {}
    for dname, data in datasets.items():
        labels = np.asarray(data.labels)
        Xs, Xt = {}, {}
        for name, model in models.items():
            enc = Encoder(model, progress=False)
            Xs[name], Xt[name] = np.asarray(enc.encode(data.texts)), np.asarray(enc.encode(data.test_texts))
        quality[dname] = neighbours(Xs, "onnx", labels, list(data.minority), args.queries, seed=0)
        plans = {name: None for name in models}
        plans.update({f"fast → onnx after {k}": k for k in switches})
        loops[dname] = {}
        for plan, k in plans.items():
            runs = []
            for seed in seeds:
                key = plan.replace(" → ", "-to-").replace(" ", "-")
                path = runs_dir / f"{dname}-{args.max_size}-{key}-s{seed}-b{args.budget}.json"
                if path.exists():
                    result = json.loads(path.read_text())
                else:
                    base = "fast" if k is not None else plan
                    v = variant(data, Xs[base], Xt[base], 0.01)
                    switch = None if k is None else (k, variant(data, Xs["onnx"], Xt["onnx"], 0.01).X, Xt["onnx"])
                    result = run(v, seed, args.budget, switch)
                    path.write_text(json.dumps(result))
                runs.append(result)
                print(
                    f"{dname} {plan} seed {seed}: found {result['minority_found']}, AUC {result['auc']:.2f}", flush=True
                )
            loops[dname][plan] = runs

    full = whole_pools(args, list(datasets), seeds, rates["onnx, 1 thread"], runs_dir) if args.full_budget else {}
    waits = wait_while_upgrading(args.wait_iterations) if args.wait_iterations else None
    text = report(args, rates, static_build, datasets, quality, loops, switches, load1, waits, len(distinct), full)
    print(text)
    if not args.no_write:
        out = {"rates": rates, "static_build_s": static_build, "neighbours": quality, "loops": loops, "load": load1}
        out["waits"], out["full"] = waits, full
        (RESULTS / f"{args.section}.json").write_text(json.dumps(out, indent=1))
        write_section(args.section, text)
    return 0


def wait_while_upgrading(iterations: int) -> dict:
    """The wait per batch on the full icd10-eye pool (58k, `fast`, exact search) while the upgrade
    encodes behind it as a session runs it (``Upgrade.encode``: one onnxruntime thread at nice
    +10, passes of 16 texts). Three loops on the same trajectory, each iteration timed on each in
    turn: the upgrade held; encoding and told when a batch is proposed (it waits, the session's
    behaviour); encoding and not told. Interleaved, so that the load of the machine (shared)
    weighs on the three alike."""
    import threading

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.vectors.encoder import Encoder
    from anchoral_widget.replay.simulation import initial_sample
    from anchoral_widget.session.upgrade import Upgrade, UpgradeStopped, _lower_priority
    from anchoral_widget.session.upgrade_plan import plan_upgrade

    data = load_dataset("icd10-eye", seed=0)
    texts, labels = list(data.texts), np.asarray(data.labels)
    X = np.asarray(Encoder("fast", progress=False).encode(texts, mmap=True))
    modes = ("held", "yielding", "not yielding")
    loops = {m: ActiveLoop(X, list(data.classes), list(data.minority), index="exact", seed=0) for m in modes}
    initial = initial_sample(labels, data.minority, size=100, per_minority_class=5, seed=0)
    for loop in loops.values():
        loop.label(initial, labels[initial])
    encoder = plan_upgrade("onnx", Encoder("fast"), encodes_pool=True)
    encoder.cache_dir = False  # encode for the measurement only
    mode, proposing, stop, encoded = ["held"], threading.Event(), threading.Event(), [0]

    def run() -> None:
        _lower_priority()
        with contextlib.suppress(UpgradeStopped):
            Upgrade(encoder).encode(
                texts,
                lambda done, total: encoded.__setitem__(0, done),
                busy=lambda: mode[0] == "held" or (mode[0] == "yielding" and proposing.is_set()),
                closed=stop.is_set,
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    mode[0] = "not yielding"
    time.sleep(5)  # the model loaded
    waits: dict[str, list[float]] = {m: [] for m in modes}
    seconds, start = 0.0, encoded[0]
    for _ in range(iterations):
        batches = []
        for m in modes:
            mode[0] = m
            time.sleep(0.5)  # the pass under way ends (held), or encoding runs a while
            proposing.set()
            t0 = time.perf_counter()
            batches.append(loops[m].propose().batch_ids)
            waits[m].append(time.perf_counter() - t0)
            proposing.clear()
            seconds += 0.5 + waits[m][-1] if m != "held" else 0.0
        assert all(b.tolist() == batches[0].tolist() for b in batches), "the same trajectory"
        for loop in loops.values():
            loop.label(batches[0], labels[batches[0]])
    stop.set()
    mode[0] = "not yielding"
    thread.join(30)
    return {"pool": len(texts), "waits": waits, "encoded_per_s": (encoded[0] - start) / seconds}


def whole_pools(args, names: list[str], seeds: list[int], rate_one: float, runs_dir: Path) -> dict:
    """`fast`, `onnx` and `fast` switched to `onnx` after the batches its upgrade would take, on each
    dataset's whole pool."""
    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    full: dict = {}
    for dname in names:
        data = load_dataset(dname, seed=0)
        k = batches_during(len(data.texts), rate_one, args.seconds_per_batch)
        Xs, Xt = {}, {}
        for name in ("fast", "onnx"):
            enc = Encoder(name, progress=False, threads=1)
            Xs[name], Xt[name] = np.asarray(enc.encode(data.texts)), np.asarray(enc.encode(data.test_texts))
        v = {name: variant(data, Xs[name], Xt[name], 0.01) for name in Xs}
        full[dname] = {"pool": len(data.texts), "test": len(data.test_texts), "k": k, "loops": {}}
        extra = [int(x) for x in args.full_switch_at.split(",") if x]
        plans = {"fast": None, "onnx": None, **{f"fast → onnx after {at}": at for at in sorted({k, *extra})}}
        for plan, at in plans.items():
            runs = []
            for seed in seeds:
                key = plan.replace(" → ", "-to-").replace(" ", "-")
                path = runs_dir / f"{dname}-full-{key}-s{seed}-b{args.full_budget}.json"
                if path.exists():
                    result = json.loads(path.read_text())
                else:
                    switch = None if at is None else (at, v["onnx"].X, Xt["onnx"])
                    result = run(v["fast" if at is not None else plan], seed, args.full_budget, switch)
                    path.write_text(json.dumps(result))
                runs.append(result)
                print(f"{dname} (whole) {plan} seed {seed}: found {result['minority_found']}", flush=True)
            full[dname]["loops"][plan] = runs
    return full


def batches_during(n: int, per_second: float, seconds_per_batch: float) -> int:
    """Batches a person labels while ``n`` texts are encoded at ``per_second``."""
    return math.ceil(n / per_second / seconds_per_batch)


def report(args, rates, static_build, datasets, quality, loops, switches, load1, waits, n_distinct, full) -> str:
    one = rates["onnx, 1 thread"]
    lines = [
        "## The encoder upgrade: `fast` first, MiniLM's vectors once encoded in the background",
        "",
        "A session starts on `fast` (static embeddings, seconds for 100k texts) and encodes the pool "
        "with `onnx` (MiniLM's own vectors) on one thread behind the person labelling; once done, the "
        "loop moves to them between two batches. The question: does the loop then find what it would "
        f"have found on MiniLM from the start? CPU only, 2 cores shared (load average {load1:.1f} at the start).",
        "",
        "### Rates, and how many batches the upgrade takes",
        "",
        markdown_table(["encoder", "texts per s"], [[k, v] for k, v in rates.items()]),
        "",
        f"`onnx`: over {args.speed_n:,} texts of each pool; the static models: over the {n_distinct:,} distinct texts "
        "of both pools. "
        f"`{STATIC_FULL}`: model2vec distilled from MiniLM without PCA (384 dimensions, SIF weights as `fast`)"
        + (f", built once in {static_build:.0f} s." if static_build else "."),
        "",
        f"Assumption: a person labels a batch of 25 in {args.seconds_per_batch:.0f} s. At the one-thread rate "
        "above, the upgrade takes this many batches (k):",
        "",
        markdown_table(
            ["pool", "upgrade (min, one thread)", "k (batches on `fast` first)"],
            [
                [f"{n:,}", n / one / 60, batches_during(n, one, args.seconds_per_batch)]
                for n in (6_000, 58_000, 100_000)
            ],
        ),
        "",
        "### What the loop finds",
        "",
        f"Pools capped at {args.max_size:,} (1% minority); `claims.run_one`'s setting: the paper's initial set "
        f"(100 items, 5 minority), budget {args.budget} labels ({args.budget // 25} batches of 25), A=10, K=50, "
        f"M=1,000, exact search, default learner; seeds {args.seeds}. `fast → onnx after k`: k batches on `fast`, "
        "then the pool, the index and the test set on `onnx` (as the session's switch does). Paired "
        "differences against `onnx` alone: mean, 95% CI, paired t-test p.",
        "",
    ]
    verdicts = []
    for dname, data in datasets.items():
        lines += [
            f"#### {dname}: pool {len(data.texts):,}, test {len(data.test_texts):,}, minority {data.minority}",
            "",
        ]
        rows = []
        for plan, runs in loops[dname].items():
            q = quality[dname].get(plan, {})
            row = [plan, q.get("recall10"), q.get("minority_nn50")]
            row += [mean_sd([r["minority_found"] for r in runs]), mean_sd([r["auc"] for r in runs])]
            for key in ("minority_found", "auc"):
                p = paired(loops[dname], key, plan, "onnx") if plan != "onnx" else None
                row.append(
                    "-" if p is None else f"{p['diff']:+.2f} [{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}] p={p['t_p']:.2g}"
                )
            k = plan_switch(plan)
            after = paired(after_switch(loops[dname], k), "found", plan, "onnx") if k is not None else None
            row.append(
                "-"
                if after is None
                else f"{after['a']:.1f} vs {after['b']:.1f} ({after['diff']:+.2f}, p={after['t_p']:.2g})"
            )
            rows.append(row)
            verdicts += verdict_lines(dname, plan, loops[dname], after)
        headers = ["embeddings", "recall@10 vs onnx", "minority NN@50", "minority found", "minority-F1 AUC"]
        headers += ["found − onnx (paired)", "AUC − onnx (paired)", "found after the switch: this vs onnx"]
        lines += [markdown_table(headers, rows), ""]
    lines.append(
        "Found after the switch: minority items in the batches after the k-th, this run against `onnx` alone "
        "over the same batches (paired). Equal or more means the loop, once on MiniLM's vectors, finds at "
        "MiniLM's pace: the loss is what the first k batches on `fast` missed."
    )
    lines += ["", "### What the figures say", "", *verdicts, ""]
    if full:
        lines += [
            "### The whole pools (the quickstart's), switched when the upgrade would be done",
            "",
            f"Each dataset's whole pool, budget {args.full_budget} labels ({args.full_budget // 25} batches), "
            f"otherwise as above; seeds {args.seeds}. The switch comes after k batches: k from the pool's size, the "
            f"one-thread rate above and {args.seconds_per_batch:.0f} s per batch (in the verdict below), and "
            f"after {args.full_switch_at} batches (the one-thread rate moves with the machine's load).",
            "",
        ]
        rows = []
        for dname, f in full.items():
            for plan, runs in f["loops"].items():
                row = [f"{dname} ({f['pool']:,})", plan]
                row += [mean_sd([r["minority_found"] for r in runs]), mean_sd([r["auc"] for r in runs])]
                for key in ("minority_found", "auc"):
                    p = paired(f["loops"], key, plan, "onnx") if plan != "onnx" else None
                    row.append(
                        "-"
                        if p is None
                        else f"{p['diff']:+.2f} [{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}] p={p['t_p']:.2g}"
                    )
                k = plan_switch(plan)
                a = paired(after_switch(f["loops"], k), "found", plan, "onnx") if k is not None else None
                row.append("-" if a is None else f"{a['a']:.1f} vs {a['b']:.1f} ({a['diff']:+.2f}, p={a['t_p']:.2g})")
                rows.append(row)
        headers = ["pool", "embeddings", "minority found", "minority-F1 AUC", "found − onnx (paired)"]
        headers += ["AUC − onnx (paired)", "found after the switch: this vs onnx"]
        lines += [markdown_table(headers, rows), ""]
    lines += ["### No loss?", "", *no_loss(args, loops, one, full, rates["onnx, every core"]), ""]
    if waits:
        held = np.asarray(waits["waits"]["held"])
        lines += [
            "### The wait per batch while the upgrade encodes",
            "",
            f"The full icd10-eye pool ({waits['pool']:,} texts) on `fast`, exact search, default learner: "
            f"{len(held)} iterations, each proposed by three loops on the same trajectory, in turn: the upgrade "
            "held; encoding (`Upgrade.encode` as a session runs it: one onnxruntime thread at nice +10, passes of "
            "16 texts) and waiting while a batch is proposed, as the session tells it; encoding and not told. "
            f"It encoded {waits['encoded_per_s']:.0f} texts/s while it ran (an encode without a cache takes the "
            "pool's longest texts first).",
            "",
        ]
        rows = []
        for mode, w in waits["waits"].items():
            d = np.asarray(w) - held
            half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if mode != "held" else 0.0
            diff = "-" if mode == "held" else f"{d.mean():+.3f} [{d.mean() - half:+.3f}, {d.mean() + half:+.3f}]"
            rows.append([mode, float(np.median(w)), float(np.percentile(w, 90)), max(w), diff])
        headers = ["upgrade", "median wait (s)", "90th percentile (s)", "max (s)", "against held: mean [95% CI] (s)"]
        lines += [markdown_table(headers, rows), ""]
    return "\n".join(lines)


def no_loss(args, loops: dict, rate_one: float, full: dict, rate_all: float) -> list[str]:
    """The answer, computed from the runs: where the loop finds what MiniLM alone finds."""
    out = []
    for dname, by_plan in loops.items():
        p = paired(by_plan, "minority_found", "fast", "onnx")
        out.append(
            f"- {dname}: `fast` alone finds {p['a']:.1f} minority items against MiniLM's {p['b']:.1f} "
            f"({p['a'] / p['b'] - 1:+.0%}, p={p['t_p']:.2g})."
        )
    switches = sorted(k for k in (plan_switch(plan) for plan in next(iter(loops.values()))) if k is not None)
    held = []
    for k in switches:
        plan = f"fast → onnx after {k}"
        losses = []
        for dname, by_plan in loops.items():
            p = paired(by_plan, "minority_found", plan, "onnx")
            if p["diff"] < 0 and p["t_p"] < 0.05:
                losses.append(f"{dname} {p['diff']:+.1f} items ({p['a'] / p['b'] - 1:+.0%}, p={p['t_p']:.2g})")
        if not losses and len(held) == len([x for x in switches if x < k]):
            held.append(k)
        out.append(
            f"- Switched after {k} batch{'es' if k > 1 else ''}: "
            + (
                "no significant loss in minority found on either dataset."
                if not losses
                else "a loss on " + "; ".join(losses) + "."
            )
        )
    behind = []
    for k in switches:
        for dname, by_plan in loops.items():
            a = paired(after_switch(by_plan, k), "found", f"fast → onnx after {k}", "onnx")
            if a is not None and a["diff"] < 0 and a["t_p"] < 0.05:
                behind.append(f"{dname} ({args.max_size:,}) after {k}")
    for dname, f in full.items():
        for plan in f["loops"]:
            at = plan_switch(plan)
            a = None if at is None else paired(after_switch(f["loops"], at), "found", plan, "onnx")
            if a is not None and a["diff"] < 0 and a["t_p"] < 0.05:
                behind.append(
                    f"the whole {dname} pool after {at} ({a['a']:.1f} vs {a['b']:.1f} found after the switch, "
                    f"p={a['t_p']:.2g})"
                )
    if any("whole" in b for b in behind):
        behind[-1] += ": a labelled set with fewer rare items anchors fewer of them, and the gap grows"
    out.append(
        "- After the switch, does the loop find minority items at MiniLM's pace? "
        + (
            "Yes, in every run set (no significant shortfall in the batches after the switch)."
            if not behind
            else "Yes, except on " + "; ".join(behind) + "."
        )
    )
    if held:
        k = held[-1]
        n = k * args.seconds_per_batch * rate_one
        out.append(
            f'- So "no loss" holds (at this budget, {args.budget} labels, seeds {args.seeds}) when the upgrade is done within '
            f"{k} batch{'es' if k > 1 else ''}: at the one-thread rate and {args.seconds_per_batch:.0f} s per batch, "
            f"pools up to about {n:,.0f} texts. Beyond that, what the first batches on `fast` missed is not made up "
            "within the budget."
        )
    else:
        out.append('- "No loss" does not hold at any switch point measured here.')
    for dname, f in full.items():
        plan = f"fast → onnx after {f['k']}"
        p = paired(f["loops"], "minority_found", plan, "onnx")
        q = paired(f["loops"], "minority_found", "fast", "onnx")
        loss = p["diff"] < 0 and p["t_p"] < 0.05
        out.append(
            f"- The whole {dname} pool ({f['pool']:,} texts, switch after {f['k']} batches, budget "
            f"{args.full_budget}): minority found {p['a']:.1f} against MiniLM's {p['b']:.1f} "
            f"({p['a'] / p['b'] - 1:+.0%}, p={p['t_p']:.2g}: {'a loss' if loss else 'no significant loss'}); "
            f"`fast` alone {q['a']:.1f} ({q['a'] / q['b'] - 1:+.0%}). With every core ({rate_all:.0f} texts/s above) "
            f"the upgrade would take {batches_during(f['pool'], rate_all, args.seconds_per_batch)} batches instead."
        )
    static, better = [], True
    for dname, by_plan in loops.items():
        if STATIC_FULL in by_plan:
            p = paired(by_plan, "minority_found", STATIC_FULL, "fast")
            static.append(f"{dname} {p['a']:.1f} vs {p['b']:.1f} (p={p['t_p']:.2g})")
            better = better and p["diff"] > 0 and p["t_p"] < 0.05
    if static:
        verdict = (
            "it beats `fast` on both datasets: a candidate for the default"
            if better
            else "a wider static model does not close the gap, so the default stays `fast`, with the upgrade behind it"
        )
        out.append(f"- `{STATIC_FULL}` (no PCA) against `fast`, minority found: {'; '.join(static)}: {verdict}.")
    return out


def plan_switch(plan: str) -> int | None:
    return int(plan.rsplit(" ", 1)[1]) if plan.startswith("fast → onnx after") else None


def after_switch(by_plan: dict, k: int) -> dict:
    """Each run's minority found in the batches after the k-th, keyed as ``paired`` reads them."""
    return {
        plan: [{"seed": r["seed"], "found": sum(r["found_per_batch"][k:])} for r in runs]
        for plan, runs in by_plan.items()
    }


def verdict_lines(dname: str, plan: str, by_plan: dict, after: dict | None) -> list[str]:
    if plan == "onnx":
        return []
    p, a = paired(by_plan, "minority_found", plan, "onnx"), paired(by_plan, "auc", plan, "onnx")
    if p is None or a is None:
        return []
    loss = p["diff"] < 0 and p["t_p"] < 0.05
    line = (
        f"- {dname}, `{plan}`: minority found {p['a']:.1f} vs {p['b']:.1f} ({p['a'] / p['b'] - 1:+.0%}, p={p['t_p']:.2g}: "
        + ("a loss" if loss else "no significant loss")
        + f"); minority-F1 AUC {a['a']:.2f} vs {a['b']:.2f} (p={a['t_p']:.2g})"
    )
    if after is not None:
        line += f"; after the switch {after['a']:.1f} vs {after['b']:.1f} found (p={after['t_p']:.2g})"
    return [line + "."]


if __name__ == "__main__":
    raise SystemExit(main())
