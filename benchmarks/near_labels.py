"""What the loop finds when the encoder upgrade encodes the labels' neighbourhoods first and the
loop moves to them at once (the session's default), against `fast` alone, MiniLM (`onnx`) from
the start, and moving only once the whole pool is encoded (`benchmarks/upgrade.py`).

The session's upgrade, replayed batch by batch on each dataset's whole pool with the session's
own parts: :class:`~anchoral_widget.session.neighbourhoods.Neighbourhoods` (what is encoded first:
each labelled item, then its ``NEIGHBOURS`` nearest items in `fast`, minority labels first, a
minority label's wider ``RARE_NEIGHBOURS`` before the majority labels' neighbourhoods) and
:func:`~anchoral_widget.engine.pool.switch_loop` with ``missing=`` then ``Pool.fill`` (the loop
searches and trains only on what is encoded). Time is counted in batches: while a person labels
a batch (``--seconds-per-batch``) the upgrade encodes ``rate x seconds`` texts, the labels'
neighbourhoods first and the whole pool (in its order, for the cache) with what is left, each
chunk of it (``UPGRADE_CHUNK`` texts) reaching the loop once written, as in the session. The
upgrade hears of a batch's labels at its submit, so their neighbourhoods serve the batch after
next; the first batch is proposed on `fast` before anything is encoded. The rate is `onnx` on one thread,
measured in this run, and a half and a quarter of it (a slower machine, or a busier one).

The loop as in ``benchmarks/upgrade.py``'s whole pools: the paper's initial set, b=25, A=10,
K=50, M=1,000, exact search, default learner, budget 1000 labels, test set encoded by the
embeddings serving the batch. `fast` and `onnx` alone are read from ``upgrade.py``'s runs
(``upgrade-runs/``) where it made them with the same settings, else run here.

    .venv/bin/python benchmarks/near_labels.py
    .venv/bin/python benchmarks/near_labels.py --seeds 0,1 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cache_root, command_line, markdown_table, now, write_section
from claims_runs import start_loop, variant
from paired_seeds import mean_sd, paired, significant_loss
from upgrade_models import rate
from upgrade_replay import batches_during, found, paper, randsub, run


def replay(
    v, v_new, X_test_new, seed: int, budget: int, per_batch: int, neighbours: int, rare: int, head_start: int = 0
) -> dict:
    """One session's upgrade, replayed: ``v`` on `fast`, ``v_new`` the same pool on `onnx`.
    ``head_start``: the first batch waits for the move, the labels and the minority labels' first
    neighbourhoods encoded before it (at most that many texts), as a session that starts with a
    label of every class does (``Upgrade.head_start``)."""
    from anchoral_widget.engine.loop.switch import switch_loop
    from anchoral_widget.engine.search.exact import ExactIndex
    from anchoral_widget.session.neighbourhoods import Neighbourhoods
    from anchoral_widget.session.upgrade_plan import UPGRADE_CHUNK

    loop, initial = start_loop(v, "exact", "anchoral", seed)
    near = Neighbourhoods(v.X, ExactIndex(v.X), neighbours, rare)
    n, b = len(v.labels), loop.config["batch_size"]
    whole, handed, moved, whole_at, whole_handed = 0, [], None, None, 0
    if head_start:
        near.add({int(i): c for i, c in loop.labels.items()}, v.minority)
        while near.urgent and len(handed) < head_start:
            ids = near.take(min(16, head_start - len(handed)))
            near.done(ids)
            handed += ids
    head = len(handed)
    for batch in range(budget // b):
        if whole >= n and whole_at is None:  # the whole pool is encoded: the session's last switch
            switch_loop(loop, v_new.X, X_test_new)
            whole_at = batch
        elif handed and (moved is not None or not near.urgent):  # the move waits for the labels and
            ids = np.asarray(handed)  # the minority labels' neighbourhoods
            if loop.pool.missing is None and moved is None:
                X = np.zeros_like(v_new.X)
                X[ids] = v_new.X[ids]
                missing = np.ones(n, dtype=bool)
                missing[ids] = False
                switch_loop(loop, X, X_test_new, missing=missing)
                moved = batch
            elif loop.pool.missing is not None:
                loop.pool.fill(ids, v_new.X[ids])
            handed = []
        if whole_at is None:  # while the person labels this batch, the upgrade encodes around the
            # labels it knows: those submitted so far (this batch's come with its submit)
            near.add({int(i): c for i, c in loop.labels.items()}, v.minority)
            budget_left = per_batch
            while budget_left and near.pending:
                ids = near.take(min(16, budget_left))
                near.done(ids)
                handed += ids
                budget_left -= len(ids)
            whole += budget_left
            # each chunk of the whole pool's pass reaches the loop once written, as in the session
            written = n if whole >= n else whole // UPGRADE_CHUNK * UPGRADE_CHUNK
            if written > whole_handed:
                handed += range(whole_handed, written)
                near.done(list(range(whole_handed, written)))
                whole_handed = written
        loop.simulate(v.labels, b)  # proposed on what was handed over before it, then labelled
    return {
        **found(loop, initial, v, seed),
        "moved_at": moved,
        "head": head,
        "whole_at": whole_at,
        "encoded_near": int(n - (loop.pool.missing.sum() if loop.pool.missing is not None else 0)),
    }


ALONE = ("fast", "onnx", "randsub", "paper")  # runs on one set of embeddings, without the upgrade


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--rarities", default="0.01,0.001", help="the minority's share of each pool (as in claims)")
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seconds-per-batch", type=float, default=30.0)
    parser.add_argument(
        "--rate-factors",
        default="1,0.333,0.25",
        help="the measured one-thread rate times these (at 30 s a batch: 1/3 is a person's 10 s a batch)",
    )
    parser.add_argument("--neighbours", type=int, help="items encoded first around each label (default: the session's)")
    parser.add_argument("--rare-neighbours", type=int, help="around a minority label, in all (default: the session's)")
    parser.add_argument("--speed-n", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, help="take this one-thread rate (texts/s) instead of measuring it: to extend a run"
    )
    parser.add_argument(
        "--no-whole-first", action="store_true", help="leave out the move once the whole pool is encoded"
    )
    parser.add_argument(
        "--head-start",
        type=int,
        default=0,
        help="also replay each rate with the first batch held for the move (at most this many texts first)",
    )
    parser.add_argument("--section", default="near_labels")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--from-json", action="store_true", help="write the section again from the last run's JSON")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads((RESULTS / f"{args.section}.json").read_text())
        args = argparse.Namespace(**{**vars(args), **saved["args"]})
        rare = saved.get("rare_neighbours", saved["neighbours"])
        text = report(args, saved["rate_one"], saved["results"], saved["load"], (saved["neighbours"], rare))
        print(text)
        write_section(args.section, text, stamp=saved["stamp"], command=saved["command"])
        return 0

    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder
    from anchoral_widget.session.neighbourhoods import NEIGHBOURS, RARE_NEIGHBOURS

    neighbours = args.neighbours or NEIGHBOURS
    rare = args.rare_neighbours or RARE_NEIGHBOURS
    seeds = [int(s) for s in args.seeds.split(",")]
    factors = [float(f) for f in args.rate_factors.split(",")]
    runs_dir = cache_root() / "upgrade-runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    load1 = os.getloadavg()[0]
    names = [n for n in args.datasets.split(",") if n]
    datas = {n: load_dataset(n, seed=0) for n in names}
    rate_one = args.rate or measured_rate(datas.values(), args.speed_n)
    print(f"onnx, one thread: {rate_one:.0f} texts/s", flush=True)

    results: dict = {}
    pools = []
    for data in datas.values():
        Xs, Xt = {}, {}
        for name in ("fast", "onnx"):
            enc = Encoder(name, progress=False, threads=1)
            Xs[name], Xt[name] = np.asarray(enc.encode(data.texts)), np.asarray(enc.encode(data.test_texts))
        for rarity in [float(r) for r in args.rarities.split(",")]:
            pools.append(({name: variant(data, Xs[name], Xt[name], rarity) for name in Xs}, Xt))
    for v, Xt in pools:
        dname, n = v["fast"].name, len(v["fast"].labels)
        plans: dict[str, list] = {}
        for alone in ALONE:
            plans[alone] = []
            for seed in seeds:
                path = runs_dir / f"{dname.replace(' ', '')}-full-{alone}-s{seed}-b{args.budget}.json"
                if path.exists():
                    result = json.loads(path.read_text())
                else:
                    by_name = {"randsub": randsub, "paper": paper}
                    result = (
                        by_name[alone](v["onnx"], seed, args.budget)
                        if alone in by_name
                        else run(v[alone], seed, args.budget)
                    )
                    path.write_text(json.dumps(result))
                plans[alone].append(result)
        per_rate = {}
        for factor in factors:
            per_batch = int(rate_one * factor * args.seconds_per_batch)
            plan = f"near the labels, {per_batch:,} texts per batch"
            plans[plan] = []
            for seed in seeds:
                t0 = time.perf_counter()
                result = replay(v["fast"], v["onnx"], Xt["onnx"], seed, args.budget, per_batch, neighbours, rare)
                plans[plan].append(result)
                print(
                    f"{dname} {plan} seed {seed}: found {result['minority_found']} (moved at batch "
                    f"{result['moved_at']}, whole pool at {result['whole_at']}; {time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
            per_rate[plan] = {"factor": factor, "per_batch": per_batch}
            if args.head_start:
                held = f"first batch after the move, {per_batch:,} texts per batch"
                plans[held] = [
                    replay(
                        v["fast"], v["onnx"], Xt["onnx"], s, args.budget, per_batch, neighbours, rare, args.head_start
                    )
                    for s in seeds
                ]
                per_rate[held] = {"factor": factor, "per_batch": per_batch}
            if args.no_whole_first:
                continue
            k = batches_during(n, rate_one * factor, args.seconds_per_batch)
            before = f"whole pool first, {per_batch:,} texts per batch"
            plans[before] = []
            for seed in seeds:  # the move only once the whole pool is encoded, at the same rate
                result = run(v["fast"], seed, args.budget, (k, v["onnx"].X, Xt["onnx"]))
                plans[before].append({**result, "whole_at": k})
            per_rate[before] = {"factor": factor, "per_batch": per_batch}
        results[dname] = {"pool": n, "plans": plans, "rates": per_rate}

    text = report(args, rate_one, results, load1, (neighbours, rare))
    print(text)
    if not args.no_write:
        saved = {"rate_one": rate_one, "results": results, "load": load1, "neighbours": neighbours}
        saved["rare_neighbours"] = rare
        saved.update(stamp=now(), command=command_line())
        saved["args"] = {
            k: getattr(args, k)
            for k in (
                "seeds",
                "budget",
                "seconds_per_batch",
                "rarities",
                "rate_factors",
                "rate",
                "no_whole_first",
                "head_start",
            )
        }
        (RESULTS / f"{args.section}.json").write_text(json.dumps(saved, indent=1))
        write_section(args.section, text, stamp=saved["stamp"], command=saved["command"])
    return 0


def measured_rate(datas, size: int) -> float:
    """`onnx` on one thread over a seeded sample of every dataset's texts (texts/s)."""
    rng = np.random.default_rng(0)
    sample = []
    for data in datas:
        texts = list(data.texts)
        sample += [texts[i] for i in np.sort(rng.choice(len(texts), size=min(size, len(texts)), replace=False))]
    return rate("onnx", sample, 1)


def report(args, rate_one: float, results: dict, load1: float, around: tuple[int, int]) -> str:
    from anchoral_widget.session.upgrade_plan import UPGRADE_CHUNK

    measured = "as measured in an earlier run (`--rate`)" if getattr(args, "rate", None) else "in this run"
    whole_first = "`whole pool first`: the move only once the whole pool is encoded, at the same rate (as before). "
    held_first = (
        "`first batch after the move`: the first batch held until the labels and the minority labels' first "
        f"neighbourhoods are encoded (at most {args.head_start:,} texts), as a session that starts with a label of "
        "every class does (`Upgrade.head_start`). "
        if getattr(args, "head_start", 0)
        else ""
    )
    lines = [
        "## The encoder upgrade, the labels' neighbourhoods first",
        "",
        "A session starts on `fast`; its upgrade encodes with MiniLM first the labelled items, then the "
        f"{around[0]} nearest items (in `fast`) of each minority label, then the rest of its {around[1]} nearest, then "
        f"the {around[0]} nearest of the other labels; the loop moves to MiniLM's vectors once the labels "
        "and the minority labels' first neighbourhoods are in, searching and training only on what is encoded; more "
        f"arrive between batches: new labels' neighbourhoods, and each {UPGRADE_CHUNK:,}-text chunk of the whole "
        "pool's pass (in the pool's order, with what encoding is left) once written. Replayed batch by batch with the session's own "
        f"parts (`Neighbourhoods`, `switch_loop(missing=)`, `Pool.fill`). `onnx` on one thread: {rate_one:.0f} "
        f"texts/s {measured} (load average {load1:.1f}); a person labels a batch in {args.seconds_per_batch:.0f} s, "
        f"so the upgrade encodes that rate times {args.seconds_per_batch:.0f} s per batch, or that times "
        f"{getattr(args, 'rate_factors', '1,0.5,0.25')} (a third: a person's 10 s a batch; less: a slower or busier "
        "machine); the upgrade hears of a batch's labels at its submit, so their neighbourhoods serve the batch "
        "after next; the first batch is proposed on `fast`. "
        f"{'' if getattr(args, 'no_whole_first', False) else whole_first}{held_first}Whole pools, the rare class at "
        f"{getattr(args, 'rarities', '0.01')} of each (subsampled as in `claims`), budget "
        f"{args.budget} labels, seeds {args.seeds}; paired against MiniLM (`onnx`) from the start, against random "
        "subsampling (`randsub`, M=10,000) on MiniLM's vectors with the same learner, and against the paper's method "
        "on MiniLM's vectors (`paper`: the anchors' subpool alone, the learner fitted on the labels alone).",
        "",
    ]
    headers = [
        "pool",
        "embeddings",
        "minority found",
        "minority-F1 AUC",
        "found − onnx (paired)",
        "AUC − onnx (paired)",
        "moved at batch",
        "whole pool at batch",
    ]
    rows, verdicts = [], []
    for dname, r in results.items():
        whole_k = {
            plan: batches_during(r["pool"], rate_one * info["factor"], args.seconds_per_batch)
            for plan, info in r["rates"].items()
        }
        for plan, runs in r["plans"].items():
            p = paired(r["plans"], "minority_found", plan, "onnx") if plan != "onnx" else None
            q = paired(r["plans"], "auc", plan, "onnx") if plan != "onnx" else None
            moved = sorted({x["moved_at"] for x in runs if x.get("moved_at") is not None})
            whole = sorted({x["whole_at"] for x in runs if x.get("whole_at") is not None})
            rows.append(
                [
                    f"{dname} ({r['pool']:,})",
                    plan,
                    mean_sd([x["minority_found"] for x in runs]),
                    mean_sd([x["auc"] for x in runs]),
                    "-" if p is None else f"{p['diff']:+.2f} [{p['ci'][0]:+.2f}, {p['ci'][1]:+.2f}] p={p['t_p']:.2g}",
                    "-" if q is None else f"{q['diff']:+.2f} [{q['ci'][0]:+.2f}, {q['ci'][1]:+.2f}] p={q['t_p']:.2g}",
                    ",".join(map(str, moved)) or "-",
                    ",".join(map(str, whole)) or ("-" if plan in ALONE else f"after {args.budget // 25}"),
                ]
            )
        for plan in r["rates"]:
            if not plan.startswith("near"):
                continue
            before = plan.replace("near the labels", "whole pool first")
            p = paired(r["plans"], "minority_found", plan, "onnx")
            waiting = ""
            if before in r["plans"]:
                waiting = (
                    f"; {_versus(paired(r['plans'], 'minority_found', before, 'onnx'))} waiting for the whole pool"
                )
            verdicts.append(
                f"- {dname} at {plan.split(', ')[1]} (the whole pool takes {whole_k[plan]} batches): minority found "
                f"{_versus(p)} near the labels{waiting}."
            )
            if "randsub" in r["plans"]:
                f, a = (paired(r["plans"], key, plan, "randsub") for key in ("minority_found", "auc"))
                verdicts.append(f"  Against randsub on MiniLM: minority found {_than(f)}; minority-F1 AUC {_than(a)}.")
            held = plan.replace("near the labels", "first batch after the move")
            if held in r["plans"]:
                f, a = (paired(r["plans"], key, held, plan) for key in ("minority_found", "auc"))
                texts = np.mean([x["head"] for x in r["plans"][held]])
                verdicts.append(
                    f"  The first batch held for the move ({texts:.0f} texts encoded first, "
                    f"{texts / rate_one:.1f} s on one thread): minority found {f['a']:.1f} against {f['b']:.1f} "
                    f"({f['diff']:+.1f}, p={f['t_p']:.2g}); minority-F1 AUC {a['a']:.2f} against {a['b']:.2f} "
                    f"({a['diff']:+.2f}, p={a['t_p']:.2g})."
                )
                for base in ("onnx", "randsub", "paper"):
                    if base in r["plans"]:
                        f, a = (paired(r["plans"], key, held, base) for key in ("minority_found", "auc"))
                        verdicts.append(
                            f"  Held, against {base}: minority found {_than(f)}; minority-F1 AUC {_than(a)}."
                        )
    lines += [markdown_table(headers, rows), "", "### No loss?", "", *verdicts]
    return "\n".join(lines)


def _than(p: dict) -> str:
    verdict = "**a loss**" if significant_loss(p) else "no significant loss"
    return f"{p['a']:.2f} against {p['b']:.2f} ({p['diff']:+.2f}, p={p['t_p']:.2g}: {verdict})"


def _versus(p: dict) -> str:
    verdict = "**a loss**" if significant_loss(p) else "no significant loss"
    change = f"{p['a'] / p['b'] - 1:+.0%}" if p["b"] else f"{p['a'] - p['b']:+.1f}"
    return f"{p['a']:.1f} against MiniLM's {p['b']:.1f} ({change}, p={p['t_p']:.2g}: {verdict})"


if __name__ == "__main__":
    raise SystemExit(main())
