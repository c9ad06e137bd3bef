"""Runs compared seed by seed: the same seed draws the same initial set for every configuration,
so two configurations are compared by their difference per seed (mean, sd, 95% interval, a paired
t-test and a Wilcoxon signed-rank test), and a table cell gives the mean ± sd over seeds.
"""

from __future__ import annotations

import math

import numpy as np


def mean_sd(values) -> str:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{values.mean():.3g} ± {values.std(ddof=1):.2g}"


def paired(runs: dict, key: str, a: str, b: str) -> dict | None:
    """Paired comparison of ``a`` against ``b`` on ``key`` over the seeds both ran."""
    from scipy import stats

    va = {r["seed"]: r[key] for r in runs.get(a, [])}
    vb = {r["seed"]: r[key] for r in runs.get(b, [])}
    seeds = sorted(set(va) & set(vb))
    if len(seeds) < 2:
        return None
    x = np.array([va[s] for s in seeds], dtype=float)
    y = np.array([vb[s] for s in seeds], dtype=float)
    d = x - y
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(d) - 1) * sd / math.sqrt(len(d)))
    t_p = float(stats.ttest_rel(x, y).pvalue) if sd > 0 else (0.0 if d.mean() != 0 else 1.0)
    w_p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {
        "n": len(seeds),
        "a": float(x.mean()),
        "b": float(y.mean()),
        "diff": float(d.mean()),
        "sd": sd,
        "ci": (float(d.mean()) - half, float(d.mean()) + half),
        "t_p": t_p,
        "w_p": w_p,
        "wins": int((d > 0).sum()),
    }


def significant_loss(p: dict) -> bool:
    """Behind, and by more than chance: the paired t-test's p < 0.05."""
    return p["diff"] < 0 and p["t_p"] < 0.05
