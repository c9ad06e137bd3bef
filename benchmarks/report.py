"""Assemble benchmarks/RESULTS.md from the sections in benchmarks/results/*.md and a description
of the machine.

    .venv/bin/python benchmarks/report.py

Each section already ends with the exact command that produced it; a section that is missing is
listed as not measured, with the command that would produce it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, RESULTS, machine

# Why a section may be missing, where known.
NOT_RUN: dict[str, str] = {}

# A line put before a section, where its numbers need one.
NOTES = {
    "speed": "Measured before the default index became exact search (see `late_wait` and `index_fidelity`): "
    "every filter here queried an HNSW index built with ef_construction=200, the former default.",
    "claims_20k": "Superseded by `claims` (full pools, 5 seeds, paired tests): an earlier run on pools capped "
    "at 20k, 3 seeds, with the former default index (HNSW, ef_construction=200) and before the loop trained "
    "in id order. Its AUC has the same definition (41 points, final model included).",
}

SECTIONS = [
    ("speed", "benchmarks/speed.py"),
    ("late_wait", "benchmarks/late_wait.py"),
    ("index_fidelity", "benchmarks/index_fidelity.py"),
    ("claims", "benchmarks/claims.py"),
    ("transformer_regime", "benchmarks/transformer_regime.py"),
    ("transformer_session", "benchmarks/transformer_session.py"),
    ("small_text_compare", "benchmarks/small_text_compare.py"),
    ("encoding", "benchmarks/encoding.py"),
    ("encoders", "benchmarks/encoders.py"),
    ("upgrade", "benchmarks/upgrade.py"),
    ("near_labels", "benchmarks/near_labels.py"),
    ("claims_20k", "benchmarks/claims.py --max-size 20000 --section claims_20k"),
    ("map_update", "benchmarks/map_update.py"),
    ("map_render", "benchmarks/map_render.py"),
    ("scale_out", "benchmarks/scale_out.py --part both"),
    ("first_batch", "benchmarks/first_batch.py"),
    ("selection", "benchmarks/selection.py"),
]


def main() -> int:
    info = machine()
    speed_json = RESULTS / "speed.json"
    measured_on = json.loads(speed_json.read_text())["machine"] if speed_json.exists() else None
    lines = [
        "# Benchmarks",
        "",
        "Every number below was measured by a script in `benchmarks/`; each section ends with the command "
        "that produced it (run from the repository root). Regenerate this page with "
        "`.venv/bin/python benchmarks/report.py` after running them. Nothing here is a timed test: these are "
        "measurements on one machine, shared with other work while they ran, so expect some noise.",
        "",
        "Every minority-F1 AUC on this page is the trapezoid (dx=1) of test minority F1 over one point per "
        "iteration plus the model trained on the final labelled set (a trace's `auc_minority_f1`, which says so "
        "in its `auc_definition`). Its value grows with the budget: compare AUCs within one table (same budget "
        "and number of points), and across sections only the normalised AUC.",
        "",
        "## Machine",
        "",
        f"- CPU: {info.get('cpu')}, {info.get('nproc', info.get('cores'))} cores (`nproc`)",
        f"- RAM: {info.get('ram_gib')} GiB",
        f"- {info.get('platform')}",
        f"- Python {info['python']}, numpy {info['numpy']}, scikit-learn {info['sklearn']}, hnswlib "
        f"{info['hnswlib']}, torch {info['torch']}, transformers {info['transformers']}, "
        f"sentence-transformers {info['sentence_transformers']}",
        "- No GPU.",
        "",
    ]
    if measured_on and measured_on.get("cpu") != info.get("cpu"):
        lines += [
            f"(The speed section was measured on: {measured_on.get('cpu')}, {measured_on.get('nproc')} cores.)",
            "",
        ]
    lines += summary()
    lines += ["## Contents", ""]
    for name, script in SECTIONS:
        if (RESULTS / f"{name}.md").exists():
            lines.append(f"- [{name}](#{name}) (`{script}`)")
    lines.append("")
    missing = []
    for name, script in SECTIONS:
        path = RESULTS / f"{name}.md"
        if not path.exists():
            missing.append((name, script))
            continue
        note = [f"_{NOTES[name]}_", ""] if name in NOTES else []
        lines += [f'<a id="{name}"></a>', "", *note, _relink(path.read_text().rstrip()), ""]
    if missing:
        lines += ["## Not measured", ""]
        lines += [
            f"- {name} (`.venv/bin/python {script}`): " + NOT_RUN.get(name, "no results yet.")
            for name, script in missing
        ]
        lines.append("")
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


def summary() -> list[str]:
    """Headline numbers, read from the results the scripts wrote (nothing typed in by hand)."""
    out = []
    speed = RESULTS / "speed.json"
    if speed.exists():
        by_n = {r["n"]: r for r in json.loads(speed.read_text())["results"]}

        def wait(n, f):
            return by_n[n]["filters"][f]["median"]["total"]

        sizes = [n for n in (10_000, 100_000, 1_000_000) if n in by_n]
        out.append(
            "- `speed` (measured with the former default index, HNSW built with ef_construction=200; the default "
            "is now exact search, see `late_wait`): anchoral median waiting time per iteration (default learner): "
            + ", ".join(f"{wait(n, 'anchoral'):.3f} s at {n:,}" for n in sizes)
            + "."
        )
        if 10_000 in by_n and 1_000_000 in by_n:
            r = by_n[1_000_000]
            out.append(
                f"- 1M / 10k: {wait(1_000_000, 'anchoral') / wait(10_000, 'anchoral'):.2f}x; "
                f"peak memory at 1M = {r['peak_rss'] / (r['embedding_bytes'] + r['index_bytes']):.2f}x "
                "the embeddings + index."
            )

            def own(n, f):
                its = by_n[n]["filters"][f]["iterations"]
                return float(np.median([i["subpool"] + i["strategy"] for i in its]))

            out.append(
                "- Claim 1 (selection cost flat in |U|), the filters' own cost (subpool + strategy, median): "
                "anchoral "
                + " / ".join(f"{own(n, 'anchoral'):.3f}" for n in sizes)
                + " s, none "
                + " / ".join(f"{own(n, 'none'):.3f}" for n in sizes)
                + " s at "
                + " / ".join(f"{n:,}" for n in sizes)
                + "."
            )
            out.append(
                f"- Frozen-embedding learner at 1M: none / anchoral = "
                f"{wait(1_000_000, 'none') / wait(1_000_000, 'anchoral'):.1f}x, randsub / anchoral = "
                f"{wait(1_000_000, 'randsub') / wait(1_000_000, 'anchoral'):.1f}x."
            )
    regime = RESULTS / "transformer_regime.json"
    if regime.exists():
        w = json.loads(regime.read_text())["waits"]
        a = w["anchoral"]["total"]
        out.append(
            f"- Fine-tuned transformer learner at 100k: none / anchoral = {w['none']['total'] / a:.1f}x "
            f"(none extrapolated from a measured sample), randsub / anchoral = "
            f"{w['randsub']['total'] / a:.1f}x of the waiting time (training included), as measured on a "
            "busy machine; see the caution in that section."
        )
        out += _lines(RESULTS / "transformer_regime.md", ("- Caution", "- From the per-item table alone"))
    out += _lines(
        RESULTS / "small_text_compare.md",
        ("small-text's query takes",),
        prefix="- small-text's `AnchorSubsampling` at 100k (same embeddings, index and base strategy, "
        "training excluded): ",
    )
    out += _lines(RESULTS / "encoding.md", ("- Caching and progress overhead",))
    out += _block(RESULTS / "late_wait.md", "### Flat late in the run?")
    out += _block(RESULTS / "index_fidelity.md", "### Verdict")
    out += _block(RESULTS / "first_batch.md", "### Targets")
    out += _block(RESULTS / "upgrade.md", "### No loss?")
    out += _block(RESULTS / "near_labels.md", "### No loss?")
    claims = RESULTS / "claims.md"
    if not claims.exists():
        claims = RESULTS / "claims_20k.md"
    out += _block(claims, "### Which claims hold here")
    return (["## Headline numbers", "", *out, ""]) if out else []


def _block(path: Path, heading: str) -> list[str]:
    """The bullet lines of a section's block under ``heading``."""
    if not path.exists() or heading not in path.read_text():
        return []
    block = path.read_text().split(heading, 1)[1].strip().split("\n\n")[0]
    return [line for line in block.splitlines() if line.startswith("- ")]


def _lines(path: Path, starts: tuple, prefix: str = "") -> list[str]:
    """Lines of a section that begin with one of ``starts``, quoted into the headline."""
    if not path.exists():
        return []
    return [
        prefix + line.removesuffix(" Why the two differ:")
        for line in path.read_text().splitlines()
        if line.startswith(starts)
    ]


def _relink(text: str) -> str:
    """Sections link their plots relative to results/; RESULTS.md sits one folder up."""
    return text.replace("](claims_", "](results/claims_")


if __name__ == "__main__":
    raise SystemExit(main())
