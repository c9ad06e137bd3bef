"""The upgrade section: the encoders' rates and the batches an upgrade takes, what the loop finds
on each embedding and after the switch, the whole pools, whether there is "no loss", and the
wait while the upgrade encodes.
"""

from __future__ import annotations

import numpy as np
from _common import markdown_table
from paired_seeds import mean_sd, paired
from upgrade_models import STATIC_FULL
from upgrade_replay import batches_during


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
