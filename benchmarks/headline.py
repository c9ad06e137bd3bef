"""The head of benchmarks/RESULTS.md: each current figure against its target, one line each.

Every figure is read from what the benchmark scripts stored in results/ (their JSON, or for the
scripts that keep none, the lines of their section), and every target from the script that judges
it, so that a new run moves the head with it. A line says the figure, the target, met or NOT met,
and the section that holds the detail; a result that is missing leaves its lines out.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, size_label
from _common import target_line as line
from claims_report import CLAIMS, claim_rows
from encoding import OVERHEAD_TARGET
from first_batch_report import ITERATION_TARGET
from first_batch_report import headline as first_batch_lines
from flatness import FLAT_RATIO as SIZE_RATIO
from flatness import MAX_WAIT_1M
from paired_seeds import paired, significant_loss
from stopping import cards as design_cards
from transformer_regime import NONE_RATIO_TARGET, RANDSUB_RATIO_TARGET, meets
from transformer_session import ratios

NO_LOSS = "no significant loss"
# near_labels replays the upgrade at the encoding rate measured in its run, and at fractions of it.
RATES = {1.0: "this machine's rate", 0.5: "half of it", 0.333: "a third of it (10 s a batch)", 0.25: "a quarter of it"}


def headline() -> list[str]:
    """The lines of the head, grouped; empty when no result is stored."""
    speed = first_batch() + arriving() + flatness() + scale_out() + map_update() + encoding()
    held = near_labels(section="near_labels_head", plans="first batch after the move", what=", first batch held")
    held += near_labels(
        section="near_labels_head_tweets30", plans="first batch after the move", what=", first batch held"
    )
    before = ", first batch on `fast` (before it was held)"
    finding = index_fidelity() + held + near_labels(10, what=before) + near_labels(what=before) + claims()
    finding += subpool_breadth() + transformer()
    groups = [
        ("How long it takes", speed),
        ("What the loop finds", finding),
        ("Knowing when to stop, and the labels", stopping() + label_check()),
    ]
    return [line for title, lines in groups if lines for line in (f"### {title}", "", *lines, "")]


def first_batch() -> list[str]:
    return first_batch_lines(_json("first_batch") or {})


def arriving() -> list[str]:
    """The wait at 1M while the upgrade fills the pool, over the shares of its rows in measured."""
    runs = (_json("arriving_wait") or {}).get("results", [])
    worst = max((x["wall"] for r in runs for x in r["rows"]), default=None)
    shares = f"{min(r['share'] for r in runs):.1%} to {max(r['share'] for r in runs):.1%}" if runs else ""
    what = f"Wait per batch at 1M while the upgrade fills the pool ({shares} of its rows in)"
    return (
        []
        if worst is None
        else [line(what, f"{worst:.3f} s, the worst", f"<= {MAX_WAIT_1M} s", worst <= MAX_WAIT_1M, "arriving_wait")]
    )


def flatness() -> list[str]:
    """The paper's claim 1 with the default settings: the wait at each size against the smallest."""
    results = _json("flatness")
    runs = {r["n"]: r for r in (results or {}).get("results", []) if r["filter"] == "anchoral"}
    if not runs:
        return []
    base = runs[min(runs)]
    out = []
    for n, r in sorted(runs.items()):
        if n == min(runs):
            continue
        for p, b in zip(r["points"], base["points"]):
            ratio = p["median"]["wall"] / b["median"]["wall"]
            out.append(
                line(
                    f"Wait per iteration, {size_label(n)} against {size_label(min(runs))}, {p['labels']:,} labels "
                    f"({r['index_class']}{', memory-mapped' if r['mapped'] else ''})",
                    f"{p['median']['wall']:.3f} s against {b['median']['wall']:.3f} s ({ratio:.2f}x); "
                    f"subpools equal to exact search's: {p['checked'] - p['mismatches']}/{p['checked']}",
                    f"<= {SIZE_RATIO}x",
                    ratio <= SIZE_RATIO,
                    "flatness",
                )
            )
        if n == 1_000_000:
            worst = max(p["median"]["wall"] for p in r["points"])
            out.append(
                line(
                    "Wait per iteration at 1M (384-d), early and late",
                    f"{worst:.3f} s, the larger median of {', '.join(str(p['labels']) for p in r['points'])} labels",
                    f"<= {MAX_WAIT_1M} s",
                    worst <= MAX_WAIT_1M,
                    "flatness",
                )
            )
    return out


def scale_out() -> list[str]:
    faiss = (_json("scale_out") or {}).get("faiss")
    if not faiss:
        return []
    wait = faiss["wait"]["total"]
    recall = faiss["recall"]["minority"]
    return [
        line(
            f"Wait per iteration at {faiss['n'] / 1e6:.0f}M, memory-mapped, FAISS IVF-PQ",
            f"{wait:.3f} s (median; recall@50 of minority anchors' neighbours {recall[0]:.3f}, min {recall[1]:.2f})",
            f"<= {ITERATION_TARGET} s",
            wait <= ITERATION_TARGET,
            "scale_out",
        )
    ]


def map_update() -> list[str]:
    text = _section("map_update")
    row = re.search(r"^\| 1,000,000 \| map update after a batch, median of \d+ \| ([\d.]+) \| s \|$", text, re.M)
    goal = re.search(r"Goal: at most ([\d.]+) s of kernel time per update at 1M", text)
    if not (row and goal):
        return []
    seconds, target = float(row.group(1)), float(goal.group(1))
    return [
        line(
            "Map update after a batch at 1M",
            f"{seconds:.3f} s of kernel time (median)",
            f"<= {target} s",
            seconds <= target,
            "map_update",
        )
    ]


def encoding() -> list[str]:
    found = re.search(r"within pairs: ([-+\d.]+)%; CPU time: ([-+\d.]+)%", _section("encoding"))
    if not found:
        return []
    pair, cpu = float(found.group(1)) / 100, float(found.group(2)) / 100
    return [
        line(
            "The encoder's cache and progress bar against a plain encode",
            f"{pair:+.1%} wall time, {cpu:+.1%} CPU time",
            f"<= {OVERHEAD_TARGET:+.0%}",
            max(pair, cpu) <= OVERHEAD_TARGET,
            "encoding",
        )
    ]


def index_fidelity() -> list[str]:
    results = _json("index_fidelity")
    if not results or "hnsw-500" not in results.get("runs", {}):
        return []
    p = paired(results["runs"], "minority_found", "hnsw-500", "exact")
    return [
        line(
            "Rare items found by HNSW (the index beyond 1M) against exact search, icd10-eye",
            f"{p['diff']:+.2f} per run of {p['b']:.1f} (p={p['t_p']:.2g}, {p['n']} seeds)",
            NO_LOSS,
            not significant_loss(p),
            "index_fidelity",
        )
    ]


def subpool_breadth() -> list[str]:
    """AnchorAL (the paper's method, and the default session's: its learner fitted against a sample
    of the pool, its subpool with items from outside the anchors' neighbourhoods) against randsub
    with the paper's learner and with the same learner: at least as many rare items, and no
    significant loss of minority-F1 AUC."""
    results = _json("subpool_breadth")
    out = []
    default = "anchoral+s2000+u5000"
    pairs = [("anchoral", "randsub"), (default, "randsub"), (default, "randsub+s2000")]
    for name, runs in (results or {}).get("results", {}).items():
        for config, rival in pairs:
            found, auc = paired(runs, "found", config, rival), paired(runs, "auc", config, rival)
            if found is None or auc is None:
                continue
            out.append(
                line(
                    f"Rare items found and minority-F1 AUC against `{rival}`, `{config}`, {name}",
                    f"found {found['diff']:+.1f} of {found['b']:.1f} (p={found['t_p']:.2g}), AUC {auc['diff']:+.2f} "
                    f"of {auc['b']:.2f} (p={auc['t_p']:.2g}), {found['n']} seeds",
                    "at least as many found, " + NO_LOSS + " of AUC",
                    found["diff"] >= 0 and not significant_loss(auc),
                    "subpool_breadth",
                )
            )
    return out


def stopping() -> list[str]:
    """The estimate of the rare items left, at the last checkpoint: within 20% of the truth in every
    seed; check samples of about 100 cards, and drawn 20 at a time as the panel draws them."""
    out = []
    for section, how in (("stopping", ""), ("stopping_panel", " (drawn 20 a press, as the panel draws them)")):
        out += _stopping(section, how)
    return out


def _stopping(section: str, how: str) -> list[str]:
    results = _json(section)
    out = []
    for name, runs in (results or {}).get("results", {}).items():
        last = max(e["checkpoint"] for e in runs)
        at = [e for e in runs if e["checkpoint"] == last and e["left"] == e["left"]]
        if not at:
            continue
        errors = [abs(e["left"] - e["truth_left"]) / max(1, e["truth_left"]) for e in at]
        within = sum(err <= 0.2 for err in errors)
        covered = sum(e["low"] <= e["truth_left"] <= e["high"] for e in at)
        cards = sum(e["sample_labels"] for e in at) / len(at)
        needed = ""
        if "lean_cards" in at[0]:  # what a design could do with the model at best (stopping.cards_for, best_cards)
            lean, uniform, best = (design_cards(at, k, " cards") for k in ("lean_cards", "uniform_cards", "best_cards"))
            needed = f"; an interval within 20% would need {lean} drawn as the panel draws "
            needed += f"({uniform} uniform" + (f", {best} with the best design for this model)" if best != "-" else ")")
        out.append(
            line(
                f"Rare items left, estimated from {cards:.0f} check cards{how} after {last} batch labels, {name}",
                f"within 20% of the truth in {within} of {len(at)} seeds (median error {np.median(errors):.0%}); "
                f"95% interval holds it in {covered} of {len(at)}{needed}",
                "within 20% in every seed",
                within == len(at),
                section,
            )
        )
    return out


def label_check() -> list[str]:
    results = _json("label_check")
    out = []
    for name, kinds in (results or {}).get("results", {}).items():
        for kind, runs in kinds.items():
            ap = sum(r["ap"] for r in runs) / len(runs)
            out.append(
                line(
                    f"Planted wrong labels (2%) ranked by the label check, {kind} labelled set, {name}",
                    f"average precision {ap:.3f}, {len(runs)} seeds",
                    ">= 0.8",
                    ap >= 0.8,
                    "label_check",
                )
            )
    return out


def near_labels(
    first: int | None = None, section: str = "near_labels_30", plans: str = "near the labels", what: str = ""
) -> list[str]:
    """The session with its upgrade (the ``plans`` of ``section``) against MiniLM from the start and
    against randsub, over every seed of the run or its ``first`` seeds (the issue's protocol: 10)."""
    results = _json(section)
    if results and first is not None:
        results = {"results": {name: _first_seeds(r, first) for name, r in results["results"].items()}}
    seeds = {x["seed"] for r in (results or {}).get("results", {}).values() for x in r["plans"].get("onnx", [])}
    more = f" ({len(seeds)} seeds)"
    out = []
    for name, r in (results or {}).get("results", {}).items():
        parts, kept = [], []
        for plan, rate in r["rates"].items():
            if not plan.startswith(plans):
                continue
            p = paired(r["plans"], "minority_found", plan, "onnx")
            where = RATES.get(rate["factor"], f"{rate['factor']:g} times this machine's rate")
            change = f"{p['a'] / p['b'] - 1:+.0%}" if p["b"] else f"{p['a'] - p['b']:+.1f}"
            parts.append(f"{change} at {where} (p={p['t_p']:.2g})")
            kept.append(not significant_loss(p))
        out.append(
            line(
                f"Encoder upgrade{what}, rare items found against MiniLM from the start, {name}{more}",
                ", ".join(parts),
                NO_LOSS + " at every rate",
                all(kept),
                section,
            )
        )
        if "randsub" in r["plans"]:
            out.append(_against_randsub(name + more, r, section, plans, what))
    return out


def _first_seeds(r: dict, first: int) -> dict:
    return {**r, "plans": {plan: [x for x in runs if x["seed"] < first] for plan, runs in r["plans"].items()}}


def _against_randsub(name: str, r: dict, section: str, plans: str, what: str) -> str:
    """The session with its upgrade against random subsampling on MiniLM: found and AUC, every rate."""
    parts, kept = [], []
    for plan, rate in r["rates"].items():
        if plan.startswith(plans):
            f, a = (paired(r["plans"], key, plan, "randsub") for key in ("minority_found", "auc"))
            where = RATES.get(rate["factor"], f"{rate['factor']:g} times this machine's rate")
            parts.append(
                f"{f['diff']:+.1f} found (p={f['t_p']:.2g}), AUC {a['diff']:+.2f} (p={a['t_p']:.2g}) at {where}"
            )
            kept += [not significant_loss(f), not significant_loss(a)]
    return line(
        f"Encoder upgrade{what} against randsub on MiniLM, {name}",
        "; ".join(parts),
        NO_LOSS + " in found or AUC at every rate",
        all(kept),
        section,
    )


def claims() -> list[str]:
    results = _json("claims")
    if not results:
        return []
    tally: dict = {}
    for name, runs in results["runs"].items():
        claim_rows(name, runs, tally)
    out = []
    for claim, what, _key, rival in CLAIMS:
        verdicts = tally.get((claim, what, rival), [])
        held = sum(v == "holds" for _, v in verdicts)
        reversed_in = [n for n, v in verdicts if v == "reversed"]
        out.append(
            line(
                f"The paper's claim {claim}, {what} (anchoral vs {rival}, default learner)",
                f"holds in {held} of {len(verdicts)} pools"
                + (f", reversed in {', '.join(reversed_in)}" if reversed_in else ""),
                "holds in every pool",
                held == len(verdicts),
                "claims",
            )
        )
    return out


def transformer() -> list[str]:
    results = _json("transformer_session")
    if not results or not results.get("per_item"):
        return []
    per_item = results["per_item"]
    per = per_item.get("tweets-sentiment", next(iter(per_item.values())))
    fits: dict[bool, list[float]] = {False: [], True: []}
    for r in results["results"].values():
        for f in r["fits"]:
            fits[bool(f["warm"])].append(f["seconds"])
    out = []
    for regime, fit in (
        ("strict, re-initialised", fits[False]),
        ("strict, warm start", fits[True]),
        ("label-ahead, the fit off the wait", [0.0]),
    ):
        if not fit:
            continue
        none_r, rand_r = ratios(float(np.median(fit)), per)
        out.append(
            line(
                f"Fine-tuned transformer at 100k, waits like for like, {regime}",
                f"none / anchoral {none_r:.1f}x, randsub / anchoral {rand_r:.1f}x",
                f">= {NONE_RATIO_TARGET}x and >= {RANDSUB_RATIO_TARGET}x",
                meets(none_r, rand_r),
                "transformer_session",
            )
        )
    return out


def _json(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _section(name: str) -> str:
    path: Path = RESULTS / f"{name}.md"
    return path.read_text() if path.exists() else ""
