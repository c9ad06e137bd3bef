"""Knowing when to stop: the estimate of rare items left, and each stopping rule, against the truth.

A session as the widget runs it (AnchorAL with the default learner, the paper's initial set,
MiniLM's vectors, the oracle's labels), with a check sample of about ``--sample`` cards drawn and
answered at each checkpoint (:func:`~anchoral_widget.engine.loop.check_samples.draw_check_sample`:
Poisson sampling leaning on the model's rare probability, a fifth uniform). At each checkpoint:
the estimate of the rare items left from every sample so far against the true count (relative
error, within 20%?, does the 95% interval hold the truth?), beside the model's own estimate (its
rare probabilities summed over the unlabelled items); the estimated recall against the true
recall; and each rule's verdict (a rule that says "stop" while the true recall is under 95% is
wrong). Then, at the last checkpoint, as many more check cards as the estimate asks for
(``Estimate.answers_for``), up to ``--follow`` in all: where following the panel's advice leads.

    .venv/bin/python benchmarks/stopping.py                      # both pools at 1% and 0.1%, 10 seeds
    .venv/bin/python benchmarks/stopping.py --datasets icd10-eye --rarities 0.01 --seeds 0 --no-write
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import claims_runs
from _common import markdown_table, write_results

WITHIN = 0.2
TRUE_RECALL_TO_STOP = 0.95


def draw_more(loop, v, samples: list, size: int, seed: int) -> int:
    """About ``size`` more check cards, answered, as the session draws them: the last sample drawn
    again while only its answers came since, else a new one. Returns how many were drawn."""
    from anchoral_widget.engine.loop.check_samples import draw_check_sample, extend_check_sample

    grown = extend_check_sample(loop, samples[-1], size, seed=seed) if samples else None
    sample = grown or draw_check_sample(loop, size, seed=seed)
    new = sample.ids if grown is None else sample.ids[len(samples[-1].ids) :]
    loop.label(new, v.labels[new], source="sample")
    if grown is None:
        samples.append(sample)
    else:
        samples[-1] = sample
    return len(new)


def follow(loop, v, samples: list, estimate, seed: int, cap: int, rounds: int = 4) -> dict:
    """Draw as many more check cards as the estimate asks for (``Estimate.answers_for``), up to
    ``cap`` in all and ``rounds`` times, answering each: where the advice leads."""
    from anchoral_widget.engine.loop.stopping import estimate_left

    asked, added = estimate.answers_for(), 0
    for r in range(rounds):
        more = min(estimate.answers_for() or 0, cap - added)
        if more <= 0:
            break
        added += draw_more(loop, v, samples, more, seed + 1000 * (r + 1))
        estimate = estimate_left(loop, samples)
    free = np.flatnonzero(~loop.excluded)
    truth = int(np.isin(v.labels[free], v.minority).sum())
    return {
        "asked": asked,
        "added": added,
        "still_asks": estimate.answers_for(),
        "truth_left": truth,
        "left": estimate.left,
        "low": estimate.low,
        "high": estimate.high,
    }


def cards_for(rare_p: np.ndarray, is_rare: np.ndarray, uniform_share: float) -> int | None:
    """The fewest cards for which a sample drawn with the panel's chances (``uniform_share`` 1:
    uniformly) gives a Horvitz-Thompson estimate of the rare items left whose 95% interval is within
    20% of the truth: its variance, the sum over the rare items of (1 - pi) / pi, read from the true
    labels. What the design can do at best with this model; None: not even the whole pool."""
    from anchoral_widget.engine.loop.check_samples import draw_chances

    return fewest_cards(lambda n: draw_chances(rare_p, n, uniform_share), is_rare.astype(np.float64), is_rare)


def best_cards(rare_p: np.ndarray, is_rare: np.ndarray, uniform_share: float = 0.1) -> int | None:
    """As :func:`cards_for`, for the design sampling theory calls best with this model's scores,
    were their calibration known: the model's probabilities calibrated on the true labels (``q``, a
    logistic fit on their logits, as the panel's model-assisted estimate calibrates them), each
    item drawn with a chance following sqrt(q (1 - q)) (a tenth uniform), and read with the
    calibration's help, so that only the residuals y - q count. No design leaning on this model
    does much better: a floor for the panel's."""
    from sklearn.linear_model import LogisticRegression

    from anchoral_widget.engine.loop.check_samples import logit

    if is_rare.all() or not is_rare.any():
        return None
    leans = logit(rare_p)[:, None]
    q = LogisticRegression(C=100.0, max_iter=1000).fit(leans, is_rare).predict_proba(leans)[:, 1]
    score = np.sqrt(q * (1 - q))
    lean = score / score.sum()

    def chances(n: int) -> np.ndarray:
        return np.minimum(1.0, n * (uniform_share / len(q) + (1 - uniform_share) * lean))

    return fewest_cards(chances, (is_rare - q) ** 2, is_rare)


def fewest_cards(chances, squared_residuals: np.ndarray, is_rare: np.ndarray) -> int | None:
    """The fewest cards ``n`` whose chances (``chances(n)``) give a 95% interval within 20% of the
    rare items left: the variance under Poisson sampling, the sum of (1 - pi) / pi times each item's
    squared residual; None: not even the whole pool."""
    from anchoral_widget.engine.loop.stopping import Z_95

    total = int(is_rare.sum())

    def narrow(n: int) -> bool:
        pi = chances(n)
        return bool(Z_95 * np.sqrt((squared_residuals * (1 - pi) / pi).sum()) <= WITHIN * total)

    low, high = 1, len(is_rare)
    if not total or not narrow(high):
        return None
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if narrow(mid) else (mid + 1, high)
    return low


def run(v, seed: int, checkpoints: list[int], sample_size: int, cap: int = 0, draw: int = 0) -> list[dict]:
    from anchoral_widget.engine.loop.check_samples import rare_probability
    from anchoral_widget.engine.loop.stopping import Stability, estimate_left, rules

    loop, _ = claims_runs.start_loop(v, "exact", "anchoral", seed)
    rare = np.isin(v.labels, v.minority)
    stability = Stability.for_pool(len(v.labels), seed=seed)
    samples, out, batch_labels = [], [], 0
    for checkpoint in checkpoints:
        while batch_labels < checkpoint:
            loop.simulate(v.labels, min(25, checkpoint - batch_labels))
            batch_labels += 25
            stability.observe(loop)
        free = np.flatnonzero(~loop.excluded)
        leaning = rare_probability(loop, free)  # the model the first card of this checkpoint leans on
        design = {
            "lean_cards": cards_for(leaning, rare[free], 0.2),
            "uniform_cards": cards_for(leaning, rare[free], 1.0),
            "best_cards": best_cards(leaning, rare[free]),
        }
        t0 = time.perf_counter()
        for press in range(max(1, sample_size // (draw or sample_size))):  # as the panel draws: a press at a time
            draw_more(loop, v, samples, draw or sample_size, seed + 7919 * press)
        estimate = estimate_left(loop, samples)
        seconds = time.perf_counter() - t0
        free = np.flatnonzero(~loop.excluded)
        truth = int(rare[free].sum())
        found = int(rare.sum()) - truth
        model_left = float(rare_probability(loop, free).sum())
        verdicts = {r.name: r.holds for r in rules(loop, estimate, stability)}
        out.append(
            {
                "seed": seed,
                "checkpoint": checkpoint,
                "labels": loop.labelled_count,
                "sample_labels": int(sum(len(s.ids) for s in samples)),
                "truth_left": truth,
                "left": estimate.left,
                "low": estimate.low,
                "high": estimate.high,
                "model_left": model_left,
                "true_recall": found / max(1, int(rare.sum())),
                "recall": estimate.recall,
                "rules": verdicts,
                "kappa": stability.average(),
                **design,
                "seconds": seconds,
            }
        )
    if cap:  # the last checkpoint's estimate, with the check cards it asks for
        out[-1]["followed"] = follow(loop, v, samples, estimate, seed, cap)
    return out


def cards(at: list[dict], key: str, unit: str = "") -> str:
    """The median over seeds of the cards a design needs (a seed that never gets there counts as more
    than any), followed by ``unit``; "-": not measured."""
    if key not in at[0]:
        return "-"
    needed = sorted(e[key] if e[key] is not None else np.inf for e in at)
    middle = float(np.median(needed))
    return "more than the pool" if middle == np.inf else f"{middle:,.0f}{unit}"


def relative(e: dict, key: str) -> float:
    return abs(e[key] - e["truth_left"]) / max(1, e["truth_left"])


def render(results: dict, args) -> str:
    lines = [
        "## Stopping: the rare items left, and the rules, against the truth",
        "",
        f"AnchorAL with the default learner (fitted against a sample of the pool) on MiniLM's vectors; at each checkpoint (batch labels) a check sample of about "
        f"{args.sample} cards is drawn and answered"
        + (f", {args.draw} at a time (as the panel draws them, each answered before the next)" if args.draw else "")
        + ", and every sample so far makes the estimate. `within 20%`: "
        f"share of seeds whose estimate of the rare items left is within 20% of the truth; `covered`: share whose "
        f"95% interval holds it; `model`: the model's probabilities summed, for comparison. `cards for 20%`: the fewest cards (median "
        f"over seeds) for which a sample drawn as the panel draws (leaning on the model, a fifth uniform) or uniformly would give a "
        f"Horvitz-Thompson estimate whose 95% interval is within 20% of the truth, its variance read from the true "
        f"labels: what the design can do with this model, before any card is drawn; `best`: the same for the design "
        f"sampling theory calls best with this model's scores were their calibration known (each item drawn with a chance "
        f"following sqrt(q (1 - q)), q the model's probability calibrated on the true labels, a tenth uniform, read with "
        f"the calibration's help): about the fewest cards any design leaning on this model can need. Seeds {args.seeds}.",
        "",
    ]
    rows = []
    for name, runs in results.items():
        for checkpoint in args.checkpoints:
            at = [e for e in runs if e["checkpoint"] == checkpoint and e["left"] == e["left"]]
            if not at:
                continue
            wrong_stops = {
                rule: sum(1 for e in at if e["rules"][rule] and e["true_recall"] < TRUE_RECALL_TO_STOP)
                for rule in at[0]["rules"]
            }
            rows.append(
                [
                    name,
                    str(checkpoint),
                    f"{np.mean([e['sample_labels'] for e in at]):.0f}",
                    f"{np.mean([e['truth_left'] for e in at]):.1f}",
                    f"{np.mean([e['left'] for e in at]):.1f}",
                    f"{np.median([relative(e, 'left') for e in at]):.0%}",
                    f"{np.mean([relative(e, 'left') <= WITHIN for e in at]):.0%}",
                    f"{np.mean([e['low'] <= e['truth_left'] <= e['high'] for e in at]):.0%}",
                    f"{np.median([relative(e, 'model_left') for e in at]):.0%}",
                    f"{np.mean([e['true_recall'] for e in at]):.2f} / {np.mean([e['recall'] for e in at]):.2f}",
                    ", ".join(f"{k} {v}" for k, v in wrong_stops.items()),
                    f"{cards(at, 'lean_cards')} / {cards(at, 'uniform_cards')} / {cards(at, 'best_cards')}",
                ]
            )
    headers = ["pool", "labels", "sample cards", "rare left", "estimate", "median error", "within 20%", "covered"]
    headers += [
        "model's error",
        "recall: true / estimated",
        "wrong 'stop' verdicts",
        "cards for 20%: lean / uniform / best",
    ]
    lines += [markdown_table(headers, rows), ""]
    followed = {name: [e["followed"] for e in runs if "followed" in e] for name, runs in results.items()}
    if any(followed.values()):
        lines += [
            f"Following the advice: at {args.checkpoints[-1]} labels the panel says how many more check-sample "
            f"answers would narrow the interval to within 20% of the estimate either way; here that many are drawn "
            f"and answered, up to {args.follow:,} more in all and 4 times (the panel asks again after each). "
            "`asked`: the first advice (median, and the range); `drawn`: the cards drawn following it (mean); "
            "`still asked`: seeds where the panel still asks for more at the end.",
            "",
        ]
        rows = []
        for name, fs in followed.items():
            if not fs:
                continue
            asked = [f["asked"] for f in fs if f["asked"] is not None]
            rows.append(
                [
                    name,
                    f"{np.median(asked):,.0f} ({min(asked):,}-{max(asked):,})" if asked else "-",
                    f"{np.mean([f['added'] for f in fs]):,.0f}",
                    f"{np.mean([f['truth_left'] for f in fs]):.1f}",
                    f"{np.mean([f['left'] for f in fs]):.1f}",
                    f"{np.median([relative(f, 'left') for f in fs]):.0%}",
                    f"{sum(relative(f, 'left') <= WITHIN for f in fs)} of {len(fs)}",
                    f"{sum(f['low'] <= f['truth_left'] <= f['high'] for f in fs)} of {len(fs)}",
                    f"{sum(bool(f['still_asks']) for f in fs)} of {len(fs)}",
                ]
            )
        headers = ["pool", "asked", "drawn", "rare left", "estimate", "median error", "within 20%", "covered"]
        lines += [markdown_table([*headers, "still asked"], rows), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="icd10-eye,tweets-sentiment")
    parser.add_argument("--rarities", default="0.01,0.001")
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--checkpoints", default="250,500")
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument(
        "--draw", type=int, default=0, help="draw each checkpoint's sample this many cards at a time (the panel's 20)"
    )
    parser.add_argument(
        "--follow", type=int, default=2000, help="most check cards drawn following the advice (0: none)"
    )
    parser.add_argument("--section", default="stopping")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    args.checkpoints = [int(c) for c in args.checkpoints.split(",")]
    results: dict[str, list] = {}
    for dataset in args.datasets.split(","):
        data, X, X_test = claims_runs.load(dataset, None)
        for rarity in [float(r) for r in args.rarities.split(",")]:
            v = claims_runs.variant(data, X, X_test, rarity)
            for seed in [int(s) for s in args.seeds.split(",")]:
                for e in run(v, seed, args.checkpoints, args.sample, args.follow, args.draw):
                    results.setdefault(v.name, []).append(e)
                    print(
                        f"[{v.name} seed {seed} at {e['checkpoint']}] left {e['truth_left']}, "
                        f"estimate {e['left']:.1f} ({e['low']:.1f}-{e['high']:.1f}), model {e['model_left']:.1f}",
                        flush=True,
                    )
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_results(args.section, results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
