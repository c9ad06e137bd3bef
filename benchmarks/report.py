"""Assemble benchmarks/RESULTS.md from the sections in benchmarks/results/*.md: a head of the
current figures against their targets (headline.py), the machine they were measured on, then
every section.

    .venv/bin/python benchmarks/report.py

Each section already ends with the exact command that produced it; a section that is missing is
listed as not measured, with the command that would produce it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, RESULTS, machine
from headline import headline

# Why a section may be missing, where known.
NOT_RUN: dict[str, str] = {}

# A line put before a section, where its numbers need one.
NOTES = {
    "speed": "Measured before the default index became exact search (see `late_wait` and `index_fidelity`): "
    "every filter here queried an HNSW index built with ef_construction=200, the former default.",
    "late_wait": "Measured before the anchors' neighbour lists were kept between iterations and fetched while "
    "the person reads: every subpool searched the whole pool in the wait. `flatness` measures the default now.",
    "near_labels": "Measured before the learner's sample of unlabelled items kept its size while the pool arrives "
    "(it fitted against as many of its 2,000 rows as were encoded); `near_labels_30` measures the session now.",
    "near_labels_30": "Measured before a session that starts with a label of every class held its first batch "
    "for the move to MiniLM near the labels (`Upgrade.head_start`): `near_labels_head` measures that, beside this.",
    "claims_20k": "Superseded by `claims` (full pools, 5 seeds, paired tests): an earlier run on pools capped "
    "at 20k, 3 seeds, with the former default index (HNSW, ef_construction=200) and before the loop trained "
    "in id order. Its AUC has the same definition (41 points, final model included).",
}

SECTIONS = [
    ("speed", "benchmarks/speed.py"),
    ("flatness", "benchmarks/flatness.py"),
    ("arriving_wait", "benchmarks/arriving_wait.py"),
    ("late_wait", "benchmarks/late_wait.py"),
    ("index_fidelity", "benchmarks/index_fidelity.py"),
    ("claims", "benchmarks/claims.py"),
    ("subpool_breadth", "benchmarks/subpool_breadth.py"),
    ("stopping", "benchmarks/stopping.py"),
    ("stopping_panel", "benchmarks/stopping.py --draw 20 --follow 0 --section stopping_panel"),
    ("label_check", "benchmarks/label_check.py"),
    ("team_store", "benchmarks/team_store.py"),
    ("transformer_regime", "benchmarks/transformer_regime.py"),
    ("transformer_session", "benchmarks/transformer_session.py"),
    ("small_text_compare", "benchmarks/small_text_compare.py"),
    ("encoding", "benchmarks/encoding.py"),
    ("encoders", "benchmarks/encoders.py"),
    ("upgrade", "benchmarks/upgrade.py"),
    ("near_labels", "benchmarks/near_labels.py"),
    (
        "near_labels_30",
        "benchmarks/near_labels.py --seeds $(seq -s, 0 29) --rate 61 --no-whole-first --section near_labels_30",
    ),
    (
        "near_labels_head",
        "benchmarks/near_labels.py --seeds 0,1,2,3,4,5,6,7,8,9 --rate 61 --rate-factors 1,0.333 --head-start 5000 "
        "--no-whole-first --section near_labels_head",
    ),
    (
        "near_labels_head_tweets30",
        "benchmarks/near_labels.py --datasets tweets-sentiment --rarities 0.01 --seeds $(seq -s, 0 29) --rate 61 "
        "--rate-factors 1,0.333 --head-start 5000 --no-whole-first --section near_labels_head_tweets30",
    ),
    ("claims_20k", "benchmarks/claims.py --max-size 20000 --section claims_20k"),
    ("map_update", "benchmarks/map_update.py"),
    ("map_render", "benchmarks/map_render.py"),
    ("scale_out", "benchmarks/scale_out.py --part both"),
    ("first_batch", "benchmarks/first_batch.py"),
    ("selection", "benchmarks/selection.py"),
]


def main() -> int:
    info, measured_by = measured_on()
    speed_json = RESULTS / "speed.json"
    speed_on = json.loads(speed_json.read_text())["machine"] if speed_json.exists() else None
    lines = [
        "# Benchmarks",
        "",
        "Every number below was measured by a script in `benchmarks/`; each section ends with the command "
        "that produced it (run from the repository root). Regenerate this page with "
        "`.venv/bin/python benchmarks/report.py` after running them. Nothing here is a timed test: these are "
        "measurements on one machine, shared with other work while they ran, so expect some noise.",
        "",
    ]
    head = headline()
    if head:
        lines += [
            "## Headline figures",
            "",
            "Each current figure against its target, read from the stored results: met or NOT met, and the "
            "section with the detail. A loss or a claim is significant at p < 0.05 in a paired t-test over seeds. "
            "`speed` and `claims_20k` were measured with a former default index and are kept below for the "
            "record, not here.",
            "",
            *head,
        ]
    lines += [
        "## Machine",
        "",
        f"As recorded by `{measured_by}`:" if measured_by else "The machine this page was assembled on:",
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
    if speed_on and speed_on.get("cpu") != info.get("cpu"):
        lines += [
            f"(The speed section was measured on: {speed_on.get('cpu')}, {speed_on.get('nproc')} cores.)",
            "",
        ]
    lines += [
        "Every minority-F1 AUC on this page is the trapezoid (dx=1) of test minority F1 over one point per "
        "iteration plus the model trained on the final labelled set (a trace's `auc_minority_f1`, which says so "
        "in its `auc_definition`). Its value grows with the budget: compare AUCs within one table (same budget "
        "and number of points), and across sections only the normalised AUC.",
        "",
        "## Contents",
        "",
    ]
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


def measured_on() -> tuple[dict, str | None]:
    """The machine of the newest stored run that records one, and that run's name; else this one."""
    recorded = []
    for path in RESULTS.glob("*.json"):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("machine"):
            when = data.get("when") or data.get("produced") or ""
            recorded.append((when, path.stem, data["machine"]))
    if not recorded:
        return machine(), None
    _when, name, info = max(recorded, key=lambda r: (r[0], r[1]))
    return info, name


def _relink(text: str) -> str:
    """Sections link their plots relative to results/; RESULTS.md sits one folder up."""
    return text.replace("](claims_", "](results/claims_")


if __name__ == "__main__":
    raise SystemExit(main())
