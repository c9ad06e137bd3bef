"""The claims section's two plots: minority items found, and test minority F1, against the labels
acquired; one panel per pool, a line per configuration (mean over seeds, band min-max).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from _common import RESULTS


def plots(all_runs: dict, section: str) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not importable: no plots", file=sys.stderr)
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    styles = {
        "anchoral": ("C0", "-"),
        "randsub": ("C1", "-"),
        "seals": ("C2", "-"),
        "none": ("C3", "-"),
        "noanchor": ("C4", "-"),
        "anchoral+badge": ("C0", "--"),
        "randsub+badge": ("C1", "--"),
        "anchoral+ftbertkm": ("C0", ":"),
        "randsub+ftbertkm": ("C1", ":"),
    }
    for key, ylabel, fname in (
        ("minority_found_curve", "minority items found", f"{section}_minority_found.png"),
        ("minority_f1_curve", "minority F1 (test)", f"{section}_minority_f1.png"),
    ):
        names = list(all_runs)
        cols = min(2, len(names))
        rows_n = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(6 * cols, 4.2 * rows_n), squeeze=False)
        for ax, name in zip(axes.ravel(), names):
            for config, runs in all_runs[name].items():
                if not runs:
                    continue
                x = np.asarray(runs[0]["labels_axis"])
                ys = np.asarray([r[key] for r in runs], dtype=float)
                colour, ls = styles.get(config, ("k", "-"))
                ax.plot(x, ys.mean(axis=0), color=colour, linestyle=ls, label=config)
                if len(runs) > 1:
                    ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=colour, alpha=0.08)
            ax.set_title(f"{name} (mean over seeds, band = min-max)", fontsize=10)
            ax.set_xlabel("labelled items")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        for ax in axes.ravel()[len(names) :]:
            ax.axis("off")
        axes.ravel()[0].legend(fontsize=8, loc="best")
        fig.tight_layout()
        path = RESULTS / fname
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)
    return out
