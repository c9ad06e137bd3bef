"""The live curves, as pure functions: per iteration, the minority share of the labelled set
and of the subpool (paper figs 3-4), minority and majority F1 (marked as an estimate when
cross-validated), the waiting time split into training, subpool and strategy, and the labels
per class with, once check samples are answered, the estimate of the rare items in the pool
(found plus those left, with its 95% interval).

:func:`curve_data` reads a loop's history into arrays, :func:`curves_figure` draws them and
:func:`curves_payload` sends them to a front end. Every trace has a ``uid``
(``"minority:labelled"``, ``"f1:minority:estimate"``, ``"seconds:train"``, ``"counts:<class
index>"``, ...; see :func:`curves_traces`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .styles import class_colours

SECONDS_COLOURS = {"train": "#4c78a8", "subpool": "#f58518", "strategy": "#54a24b"}


def _get(record, name, default=None):
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def _nan(value) -> float:
    return float("nan") if value is None else float(value)


@dataclass(frozen=True)
class Curves:
    """Per-iteration series read from a loop's history (one entry per finished iteration).

    ``*_estimated`` flags mark the entries that are estimates: F1 cross-validated on the
    labelled set (no test set), the subpool's minority share predicted by the model (its items
    are not labelled outside a simulation)."""

    classes: list
    minority: list
    iteration: np.ndarray
    labelled: np.ndarray
    minority_labelled: np.ndarray
    minority_subpool: np.ndarray
    subpool_estimated: np.ndarray
    minority_f1: np.ndarray
    majority_f1: np.ndarray
    f1_estimated: np.ndarray
    seconds: dict
    counts: dict
    #: the minority share of the whole pool, when known (a simulation's oracle knows it): what a
    #: subpool's share is compared with
    pool_share: float | None = None
    #: per iteration, the rare items in the pool estimated from the check samples (found plus
    #: those left): estimate, low and high end of its 95% interval (NaN before any estimate)
    rare_in_pool: np.ndarray | None = None


def curve_data(
    history: Sequence,
    classes: Sequence,
    minority: Sequence,
    initial_counts: dict | None = None,
    *,
    pool_share: float | None = None,
) -> Curves:
    """Series from ``history`` (``IterationRecord`` objects or their dicts, as in a trace).

    Sources per iteration: the subpool's minority share from ``minority_in_subpool`` (the
    oracle's), else ``extra["minority_in_subpool_predicted"]``; F1 from ``test``, else
    ``extra["f1_estimate"]`` (see :mod:`estimates`); label counts per class after the iteration
    are ``initial_counts`` plus the batches' labels so far. ``pool_share``: the minority share
    of the whole pool, drawn as a line under the subpool's. The rare items in the pool, from
    ``extra["rare_estimate"]`` (``found``, ``left``, ``low``, ``high``; see :mod:`stopping`).
    """
    classes = list(classes)
    running = {c: int((initial_counts or {}).get(c, 0)) for c in classes}
    rows: dict[str, list[Any]] = {k: [] for k in ("it", "lab", "ml", "ms", "se", "mi", "ma", "fe")}
    seconds: dict[str, list[float]] = {k: [] for k in SECONDS_COLOURS}
    counts: dict[Any, list[int]] = {c: [] for c in classes}
    rare: list[list[float]] = []
    for r in history:
        extra = _get(r, "extra") or {}
        left = extra.get("rare_estimate") or {}
        rare.append([_nan(left.get("found", 0)) + _nan(left.get(k)) for k in ("left", "low", "high")])
        sub = _get(r, "minority_in_subpool")
        predicted = sub is None and extra.get("minority_in_subpool_predicted") is not None
        f1, estimated = _get(r, "test"), False
        if not f1 and extra.get("f1_estimate"):
            f1, estimated = extra["f1_estimate"], True
        rows["it"].append(int(_get(r, "iteration")))
        rows["lab"].append(int(_get(r, "labelled_count")))
        rows["ml"].append(_nan(_get(r, "minority_in_labelled")))
        rows["ms"].append(_nan(extra.get("minority_in_subpool_predicted") if predicted else sub))
        rows["se"].append(predicted)
        rows["mi"].append(_nan((f1 or {}).get("minority_f1")))
        rows["ma"].append(_nan((f1 or {}).get("majority_f1")))
        rows["fe"].append(estimated)
        spent = _get(r, "seconds") or {}
        for k in seconds:
            seconds[k].append(float(spent.get(k, 0.0)))
        for c in _get(r, "batch_labels") or []:
            running[c] = running.get(c, 0) + 1
        for c in classes:
            counts[c].append(running[c])
    a = lambda k, t=np.float64: np.asarray(rows[k], dtype=t)
    return Curves(
        classes=classes,
        minority=list(minority),
        iteration=a("it", np.int64),
        labelled=a("lab", np.int64),
        minority_labelled=a("ml"),
        minority_subpool=a("ms"),
        subpool_estimated=a("se", bool),
        minority_f1=a("mi"),
        majority_f1=a("ma"),
        f1_estimated=a("fe", bool),
        seconds={k: np.asarray(v) for k, v in seconds.items()},
        counts={c: np.asarray(v, dtype=np.int64) for c, v in counts.items()},
        pool_share=None if pool_share is None else float(pool_share),
        rare_in_pool=np.asarray(rare, dtype=np.float64).reshape(-1, 3),
    )


def _split(values: np.ndarray, estimated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(measured, estimated) copies of a series, NaN where the other kind is."""
    return np.where(estimated, np.nan, values), np.where(estimated, values, np.nan)


def curves_traces(curves: Curves) -> list[tuple[dict, int, int]]:
    """(trace dict, row, col) for :func:`curves_figure`'s 2x2 grid."""
    x = curves.iteration
    colours = class_colours(curves.classes, curves.minority)
    out = [
        (
            dict(
                type="scatter",
                uid="minority:labelled",
                name="minority share: labelled set",
                x=x,
                y=curves.minority_labelled,
                mode="lines+markers",
                line={"color": "#d62728"},
            ),
            1,
            1,
        ),
    ]
    measured, estimated = _split(curves.minority_subpool, curves.subpool_estimated)
    out.append(
        (
            dict(
                type="scatter",
                uid="minority:subpool",
                name="minority share: subpool",
                x=x,
                y=measured,
                mode="lines+markers",
                line={"color": "#ff7f0e"},
            ),
            1,
            1,
        )
    )
    out.append(
        (
            dict(
                type="scatter",
                uid="minority:subpool:predicted",
                name="minority share: subpool (predicted)",
                x=x,
                y=estimated,
                mode="lines+markers",
                line={"color": "#ff7f0e", "dash": "dot"},
            ),
            1,
            1,
        )
    )
    for key, label, colour in (("minority_f1", "minority F1", "#d62728"), ("majority_f1", "majority F1", "#1f77b4")):
        measured, estimated = _split(getattr(curves, key), curves.f1_estimated)
        uid = "f1:" + key.split("_")[0]
        out.append(
            (
                dict(
                    type="scatter",
                    uid=uid,
                    name=f"{label} (test set)",
                    x=x,
                    y=measured,
                    mode="lines+markers",
                    line={"color": colour},
                ),
                1,
                2,
            )
        )
        out.append(
            (
                dict(
                    type="scatter",
                    uid=uid + ":estimate",
                    name=f"{label} (CV estimate)",
                    x=x,
                    y=estimated,
                    mode="lines+markers",
                    line={"color": colour, "dash": "dash"},
                    marker={"symbol": "circle-open"},
                ),
                1,
                2,
            )
        )
    for k, colour in SECONDS_COLOURS.items():
        out.append(
            (
                dict(
                    type="bar", uid=f"seconds:{k}", name=f"{k} (s)", x=x, y=curves.seconds[k], marker={"color": colour}
                ),
                2,
                1,
            )
        )
    for i, c in enumerate(curves.classes):
        out.append(
            (
                dict(
                    type="scatter",
                    uid=f"counts:{i}",
                    name=f"labels: {c}",
                    x=x,
                    y=curves.counts[c],
                    mode="lines+markers",
                    line={"color": colours[c]},
                ),
                2,
                2,
            )
        )
    out.extend((trace, 2, 2) for trace in _rare_traces(curves))
    return out


RARE_COLOUR = "#d62728"


def _rare_traces(curves: Curves) -> list[dict]:
    """The rare items in the pool as estimated, beside the labels per class: a dashed line and
    its 95% interval as a band (the low end first, for plotly's fill to the trace before)."""
    x = curves.iteration
    rare = curves.rare_in_pool if curves.rare_in_pool is not None else np.full((len(x), 3), np.nan)
    band = {"type": "scatter", "x": x, "mode": "lines", "line": {"color": RARE_COLOUR, "width": 0}, "hoverinfo": "skip"}
    low = {**band, "uid": "rare:low", "name": "rare: 95% low", "y": rare[:, 1], "showlegend": False}
    high = {**band, "uid": "rare:high", "name": "rare items: 95% interval", "y": rare[:, 2], "fill": "tonexty"}
    high["fillcolor"] = "rgba(214,39,40,0.12)"
    line = {"color": RARE_COLOUR, "dash": "dash"}
    estimate = {"type": "scatter", "uid": "rare:estimate", "name": "rare items in the pool (estimate)", "x": x}
    estimate.update(y=rare[:, 0], mode="lines+markers", line=line, marker={"symbol": "circle-open"})
    return [low, high, estimate]


#: What each panel's legend calls a trace: the panel's title says the rest.
_SHORT_NAMES = (
    ("minority share: ", ""),
    ("labels: ", ""),
    (" (s)", ""),
)
POOL_SHARE_COLOUR = "#636363"


def curves_figure(curves: Curves, *, title: str | None = None, height: int = 600):
    """Four panels, each with its own legend beside it: minority share of the labelled set
    and of the subpool (paper figs 3-4), with the whole pool's share as a dotted line when it
    is known, on an axis fitted to the lines; minority and majority F1 (dashed and titled as
    an estimate when cross-validated); waiting time per iteration, stacked as training,
    subpool and strategy; labels per class. Each trace's ``meta["series"]`` is its uid in
    :func:`curves_traces` (the figure's uid has "-" for ":")."""
    from plotly.subplots import make_subplots

    f1_title = "F1"
    if curves.f1_estimated.any():
        f1_title = (
            "F1 (estimate: cross-validated on the labelled set)"
            if curves.f1_estimated.all()
            else "F1 (dashed: estimate)"
        )
    fig = make_subplots(
        rows=2,
        cols=2,
        horizontal_spacing=0.2,
        vertical_spacing=0.17,
        column_widths=[0.5, 0.5],
        subplot_titles=("Minority share", f1_title, "Waiting time per iteration (s)", "Labels per class"),
    )
    panels = {(1, 1): "legend", (1, 2): "legend2", (2, 1): "legend3", (2, 2): "legend4"}
    traces = curves_traces(curves)
    if curves.pool_share is not None and len(curves.iteration):
        x = curves.iteration
        line = dict(
            type="scatter",
            uid="minority:pool",
            name=f"whole pool ({curves.pool_share:.1%})",
            x=[x[0], x[-1]],
            y=[curves.pool_share] * 2,
            mode="lines",
            line={"color": POOL_SHARE_COLOUR, "dash": "dot", "width": 1.5},
            hoverinfo="name",
        )
        traces.insert(0, (line, 1, 1))
    for trace, row, col in traces:
        # A series with no point (e.g. test F1 when only estimates exist) stays, for a stable
        # set of uids, but out of the legend.
        finite = bool(np.isfinite(np.asarray(trace["y"], dtype=float)).any())
        trace["showlegend"] = trace.get("showlegend", True) and finite
        trace["legend"] = panels[(row, col)]
        for long, short in _SHORT_NAMES:
            trace["name"] = trace["name"].replace(long, short)
        # plotly builds CSS selectors from uids ('.cb' + uid) and a colon breaks them (a page
        # error on drawing): the figure's uids are the series' with "-", the series in meta
        trace["meta"] = {"series": trace["uid"]}
        trace["uid"] = trace["uid"].replace(":", "-")
        fig.add_trace(trace, row=row, col=col)
    legends = {}
    for (row, col), name in panels.items():
        axes = fig.get_subplot(row, col)
        legends[name] = {
            "x": axes.xaxis.domain[1] + 0.01,
            "xanchor": "left",
            "y": axes.yaxis.domain[1],
            "yanchor": "top",
            "font": {"size": 10},
            "traceorder": "normal",
            "bgcolor": "rgba(255,255,255,0)",
        }
    fig.update_layout(
        barmode="stack",
        height=height,
        title={"text": title} if title else None,
        margin={"l": 40, "r": 10, "t": 70 if title else 40, "b": 40},
        uirevision="curves",
        plot_bgcolor="white",
        **legends,
    )
    fig.update_annotations(font_size=13)
    grid = {"showgrid": True, "gridcolor": "#eeeeee", "zeroline": False}
    fig.update_xaxes(**grid)
    fig.update_yaxes(**grid)
    # the share axis follows its lines (shares of a rare class are small), from zero
    fig.update_yaxes(rangemode="tozero", tickformat=".0%", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="iteration", row=2)
    return fig


def curves_payload(curves: Curves, since: int = 0) -> dict:
    """The curves' points from entry ``since`` on, as JSON (a few numbers per iteration, so
    no binary): ``{"kind": "curves_update", "from": since, "iteration": [...],
    "series": {uid: [...]}}`` with the uids of :func:`curves_traces`; NaN becomes null."""
    series = {}
    for trace, _, _ in curves_traces(curves):
        series[trace["uid"]] = [None if not np.isfinite(v) else float(v) for v in np.asarray(trace["y"], float)[since:]]
    return {
        "kind": "curves_update",
        "from": int(since),
        "iteration": curves.iteration[since:].tolist(),
        "series": series,
    }
